"""Idempotency-Key for creates a double tap could repeat (DESIGN.md §5).

Same user + key + body → the first response again, and no second row. Same key with a
different body or path → 422. A repeat that arrives while the first is still running →
409, which the client can retry. The record is claimed by an INSERT under a unique
constraint, so two concurrent requests cannot both run the create. Views that make no network
call write the record last, in their own transaction, and the constraint then decides which of
two concurrent attempts commits (`single_transaction`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import wraps

from django.db import IntegrityError, transaction
from rest_framework.response import Response

from core.errors import Conflict, InvalidInput, Unprocessable
from core.insert import insert_one
from core.models import IdempotencyRecord
from core.throttling import release_idempotency_keys

MAX_KEY_LENGTH = 128


def _fingerprint(request) -> str:
    try:
        data = request.data
        if hasattr(data, "dict"):
            data = {k: data.getlist(k) for k in data.keys()}
        canonical = json.dumps(data, sort_keys=True, default=str, ensure_ascii=False)
    except Exception:  # unparseable body: let the view raise its own error
        canonical = ""
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def idempotent(
    view_method: Callable | None = None, *, single_transaction: bool | Callable[[object], bool] = False
) -> Callable:
    """Decorate an APIView method (post) so a repeated Idempotency-Key replays the response.

    `@idempotent(single_transaction=True)`: run the view and store its response in ONE
    transaction (one commit instead of three, one write for the record). Only for views that
    make no network call (a WeChat content check must not hold a transaction open). A
    concurrent repeat then waits on the key's unique index until the first commits, rolls back
    and replays its response.
    `single_transaction` may be a function of the request, for views that call WeChat only for
    some bodies (a typed note): True when this request makes no network call.
    """
    if view_method is None:
        return lambda method: idempotent(method, single_transaction=single_transaction)

    @wraps(view_method)
    def wrapper(self, request, *args, **kwargs):
        key = request.headers.get("Idempotency-Key")
        if key is None or not request.user.is_authenticated:
            return view_method(self, request, *args, **kwargs)
        key = key.strip()
        if not key or len(key) > MAX_KEY_LENGTH:
            raise InvalidInput("invalid_idempotency_key", f"Idempotency-Key 长度须为 1 到 {MAX_KEY_LENGTH} 个字符")
        scope = f"{request.method} {request.path}"
        fingerprint = _fingerprint(request)
        one = single_transaction(request) if callable(single_transaction) else single_transaction
        if one:
            return _run_in_one_transaction(view_method, self, request, args, kwargs, key, scope, fingerprint)
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    user=request.user, key=key, scope=scope, fingerprint=fingerprint
                )
        except IntegrityError:
            return _replay(request, key, scope, fingerprint)
        try:
            response = view_method(self, request, *args, **kwargs)
        except BaseException:
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
            release_idempotency_keys(request)
            raise
        _finish(record, response)
        if not 200 <= response.status_code < 300:
            release_idempotency_keys(request)
        return response

    return wrapper


class _KeyTaken(Exception):
    """The record's INSERT met the unique constraint: an earlier attempt holds the key."""


def _run_in_one_transaction(view_method, view, request, args, kwargs, key, scope, fingerprint):
    """The view and its record in one transaction and one write: the record is INSERTed last,
    with the response. A repeat runs the view too, then meets the key's unique constraint (a
    concurrent first attempt makes it wait there until that one commits), rolls back all it
    did and replays the first answer. Repeats are rare; a claim first and an UPDATE after cost
    every create a round trip."""
    try:
        with transaction.atomic():
            response = view_method(view, request, *args, **kwargs)
            if 200 <= response.status_code < 300:
                try:
                    insert_one(
                        IdempotencyRecord(
                            user=request.user, key=key, scope=scope, fingerprint=fingerprint,
                            status_code=response.status_code, response_body=response.data,
                        )
                    )
                except IntegrityError:
                    raise _KeyTaken from None
    except _KeyTaken:
        return _replay(request, key, scope, fingerprint)
    except Exception:
        # A repeat of an attempt that succeeded can fail where the first passed (the elder
        # removed since, say): the first answer is the answer.
        if IdempotencyRecord.objects.filter(user=request.user, key=key).exists():
            return _replay(request, key, scope, fingerprint)
        release_idempotency_keys(request)
        raise
    if not 200 <= response.status_code < 300:
        release_idempotency_keys(request)
    return response


def _replay(request, key: str, scope: str, fingerprint: str) -> Response:
    record = IdempotencyRecord.objects.filter(user=request.user, key=key).first()
    if record is None:  # the first attempt failed and released the key meanwhile
        raise Conflict("idempotency_in_progress", "相同请求正在处理，请稍后重试") from None
    if record.scope != scope or record.fingerprint != fingerprint:
        raise Unprocessable("idempotency_key_reused", "Idempotency-Key 已用于另一个请求") from None
    if record.status_code is None:
        raise Conflict("idempotency_in_progress", "相同请求正在处理，请稍后重试") from None
    response = Response(record.response_body, status=record.status_code)
    response["Idempotent-Replayed"] = "true"
    return response


def _finish(record: IdempotencyRecord, response) -> None:
    if 200 <= response.status_code < 300:
        IdempotencyRecord.objects.filter(pk=record.pk).update(
            status_code=response.status_code, response_body=response.data
        )
    else:
        # Errors are not remembered: fixing the input and retrying with the key must work.
        IdempotencyRecord.objects.filter(pk=record.pk).delete()
