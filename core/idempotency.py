"""Idempotency-Key for creates a double tap could repeat (README.md, API conventions).

Same user + key + body → the first response again, and no second row. Same key with a
different body or path → 422. A repeat that arrives while the first is still running →
409, which the client can retry. The record is claimed by an INSERT under a unique
constraint, so two concurrent requests cannot both run the create. Views that make no network
call write the record last, in their own transaction, and the constraint then decides which of
two concurrent attempts commits (`single_transaction`).

Records live REPLAY_WINDOW (24 hours, as Stripe keeps keys). After that a record is as good as
gone even before the purge (`purge_expired_records`, a periodic task) deletes it: a repeat of
an expired key runs the create anew, which is what Stripe does with a pruned key. The stored
response is encrypted (core.crypto.EncryptedJSONField) and the body's fingerprint is a keyed
hash: a room number or a phone is a small space, and a plain sha256 of the body could be
searched through. Erasure (PIPL) deletes the person's records (privacy/idempotency.py).
"""

from __future__ import annotations

import contextvars
import json
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps

from django.db import DatabaseError, IntegrityError, close_old_connections, transaction
from django.db.models import Q
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils import timezone
from rest_framework.response import Response

from core.crypto import blind_index
from core.errors import Conflict, InvalidInput, Unprocessable, error_body
from core.models import IdempotencyRecord
from core.throttling import release_idempotency_keys

logger = logging.getLogger(__name__)

MAX_KEY_LENGTH = 128
REPLAY_WINDOW = timedelta(hours=24)
PURGE_BATCH = 1000
# A claim (a record without a response) older than this belongs to a request that died: no
# request runs this long (WeChat's budget is seconds), so a repeat may take the key over.
ABANDONED_CLAIM = timedelta(seconds=60)
# How long a claim's last write keeps trying through a database restart.
CLAIM_WRITE_PATIENCE = timedelta(seconds=15)


def replay_cutoff(now: datetime | None = None) -> datetime:
    """Records created before this are expired: never replayed, deleted by the purge."""
    return (now or timezone.now()) - REPLAY_WINDOW


def _fingerprint(request) -> str:
    try:
        data = request.data
        if hasattr(data, "dict"):
            data = {k: data.getlist(k) for k in data.keys()}
        canonical = json.dumps(data, sort_keys=True, default=str, ensure_ascii=False)
    except Exception:  # unparseable body: let the view raise its own error
        canonical = ""
    return blind_index(canonical, purpose="idempotency-fingerprint")


def _drop_expired(user, key: str) -> bool:
    """Delete this key's record if it is past the replay window, or if it is a claim whose
    request died without releasing it (older than ABANDONED_CLAIM: the database went away
    mid-request, the process was killed); True if one was deleted. Conditional on created_at,
    so a record a concurrent repeat just made is never touched."""
    now = timezone.now()
    stale = Q(created_at__lt=replay_cutoff(now)) | Q(status_code__isnull=True, created_at__lt=now - ABANDONED_CLAIM)
    deleted, _ = IdempotencyRecord.objects.filter(stale, user=user, key=key).delete()
    return deleted > 0


def _outlasting_a_restart(write: Callable[[], object], what: str) -> bool:
    """Run a one-statement write on the claim, retrying through a database restart for up to
    CLAIM_WRITE_PATIENCE (a `pg_ctl restart` takes a few seconds): a claim left unresolved
    answers every repeat 409 until ABANDONED_CLAIM, and a create whose answer was never stored
    could then be made twice. Outside a transaction only; False if it never got through."""
    deadline = time.monotonic() + CLAIM_WRITE_PATIENCE.total_seconds()
    pause = 0.2
    while True:
        try:
            write()
            return True
        except DatabaseError:
            if transaction.get_connection().in_atomic_block or time.monotonic() + pause > deadline:
                logger.warning("idempotency: could not %s; a repeat takes the key over later", what)
                return False
        close_old_connections()
        transaction.get_connection().close()
        time.sleep(pause)
        pause = min(pause * 2, 2.0)


# Rows created (and committed) while a claimed view runs: (model label, pk), in order.
_COMMITTED_CREATES: contextvars.ContextVar[list[tuple[str, object]] | None] = contextvars.ContextVar(
    "idempotency_committed_creates", default=None
)


@receiver(post_save, dispatch_uid="core.idempotency.committed_creates")
def _note_committed_create(sender, instance, created: bool, **kwargs) -> None:
    committed = _COMMITTED_CREATES.get()
    if committed is not None and created:
        # Runs right after COMMIT (at once in autocommit): a rolled-back row is never noted.
        transaction.on_commit(lambda: committed.append((sender._meta.label, instance.pk)))


def _answer_lost(record: IdempotencyRecord, committed: list[tuple[str, object]]) -> None:
    """Store, as the key's answer, that the create was made and which rows it made: repeats get
    409 `idempotency_answer_lost` naming them, never a second create."""
    label, pk = committed[0]
    body = error_body(
        "idempotency_answer_lost", "请求已经完成，但结果未能返回，请刷新后查看",
        {"object": label, "id": pk, "created": [{"object": lb, "id": key} for lb, key in committed]},
    )
    _outlasting_a_restart(
        lambda: IdempotencyRecord.objects.filter(pk=record.pk).update(status_code=409, response_body=body),
        f"record the lost answer of claim {record.pk}",
    )


def _release_claim(record: IdempotencyRecord) -> None:
    """Give the key back after a failed attempt (through a database restart, if that is what
    failed); if even that fails, a repeat takes the claim over once it is ABANDONED_CLAIM old."""
    _outlasting_a_restart(lambda: IdempotencyRecord.objects.filter(pk=record.pk).delete(), f"release claim {record.pk}")


def read_key(request) -> str | None:
    """The request's Idempotency-Key, stripped; None without one; 400 when empty or too long."""
    raw = request.headers.get("Idempotency-Key")
    if raw is None:
        return None
    key = raw.strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidInput("invalid_idempotency_key", f"Idempotency-Key 长度须为 1 到 {MAX_KEY_LENGTH} 个字符")
    return key


def idempotent(
    view_method: Callable | None = None, *, single_transaction: bool = False, check: Callable | None = None
) -> Callable:
    """Decorate an APIView method (post) so a repeated Idempotency-Key replays the response.

    `@idempotent(single_transaction=True)`: run the view and store its response in ONE
    transaction (one commit instead of three, one write for the record). The view itself must
    make no network call (a WeChat content check must not hold a transaction open). A
    concurrent repeat then waits on the key's unique index until the first commits, rolls back
    and replays its response.
    `check`: a function `(view, request, *args, **kwargs)` that runs the action's `check_*`
    (validation and network calls, e.g. WeChat's content check) before any transaction opens;
    what it returns reaches the view as `checked=`. So the view never needs to know whether
    the action calls WeChat: the call is always made first, outside. A repeat runs the check
    again; if it now refuses what the first attempt did, the first answer is replayed.
    """
    if view_method is None:
        return lambda method: idempotent(method, single_transaction=single_transaction, check=check)

    @wraps(view_method)
    def wrapper(self, request, *args, **kwargs):
        if "Idempotency-Key" not in request.headers or not request.user.is_authenticated:
            if check is not None:
                kwargs = {**kwargs, "checked": check(self, request, *args, **kwargs)}
            return view_method(self, request, *args, **kwargs)
        key = read_key(request)
        scope = f"{request.method} {request.path}"
        fingerprint = _fingerprint(request)
        if single_transaction:
            if check is not None:
                try:
                    kwargs = {**kwargs, "checked": check(self, request, *args, **kwargs)}
                except Exception:
                    return _replay_or_raise(request, key, scope, fingerprint)
            return _run_in_one_transaction(view_method, self, request, args, kwargs, key, scope, fingerprint)
        record = None
        # Twice at most: the second claim follows the deletion of an expired record.
        for _ in range(2):
            try:
                with transaction.atomic():
                    record = IdempotencyRecord.objects.create(
                        user=request.user, key=key, scope=scope, fingerprint=fingerprint
                    )
                break
            except IntegrityError:
                if not _drop_expired(request.user, key):
                    return _replay(request, key, scope, fingerprint)
        if record is None:
            return _replay(request, key, scope, fingerprint)
        committed: list[tuple[str, object]] = []
        watching = _COMMITTED_CREATES.set(committed)
        try:
            if check is not None:
                kwargs = {**kwargs, "checked": check(self, request, *args, **kwargs)}
            response = view_method(self, request, *args, **kwargs)
        except BaseException as exc:
            if committed and isinstance(exc, DatabaseError):
                # The create committed, then the database went away before its answer was
                # built: giving the key back would let a repeat make it twice.
                _answer_lost(record, committed)
            else:
                _release_claim(record)
                release_idempotency_keys(request)
            raise
        finally:
            _COMMITTED_CREATES.reset(watching)
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
                    IdempotencyRecord(
                        user=request.user, key=key, scope=scope, fingerprint=fingerprint,
                        status_code=response.status_code, response_body=response.data,
                    ).save(force_insert=True)
                except IntegrityError:
                    raise _KeyTaken from None
    except _KeyTaken:
        if _drop_expired(request.user, key):
            # The key was last used over 24 hours ago: this is a new create (and runs again).
            return _run_in_one_transaction(view_method, view, request, args, kwargs, key, scope, fingerprint)
        return _replay(request, key, scope, fingerprint)
    except Exception:
        return _replay_or_raise(request, key, scope, fingerprint)
    if not 200 <= response.status_code < 300:
        release_idempotency_keys(request)
    return response


def _replay_or_raise(request, key: str, scope: str, fingerprint: str) -> Response:
    """Call in an `except` block. A repeat of an attempt that succeeded can fail where the first
    passed (the elder removed since, say): the first answer is the answer, while it is still kept."""
    if IdempotencyRecord.objects.filter(user=request.user, key=key, created_at__gte=replay_cutoff()).exists():
        return _replay(request, key, scope, fingerprint)
    release_idempotency_keys(request)
    raise


def _replay(request, key: str, scope: str, fingerprint: str) -> Response:
    record = IdempotencyRecord.objects.filter(user=request.user, key=key, created_at__gte=replay_cutoff()).first()
    if record is None:  # the first attempt failed and released the key meanwhile (or just expired)
        raise Conflict("idempotency_in_progress", "相同请求正在处理，请稍后重试") from None
    if record.scope != scope or record.fingerprint != fingerprint:
        raise Unprocessable("idempotency_key_reused", "Idempotency-Key 已用于另一个请求") from None
    if record.status_code is None:
        raise Conflict("idempotency_in_progress", "相同请求正在处理，请稍后重试") from None
    response = Response(record.response_body, status=record.status_code)
    response["Idempotent-Replayed"] = "true"
    return response


def _finish(record: IdempotencyRecord, response) -> None:
    """Store the answer of a create that committed (or give the key back after an error). The
    create is done whatever happens here, so the write waits out a database restart."""
    if 200 <= response.status_code < 300:
        _outlasting_a_restart(
            lambda: IdempotencyRecord.objects.filter(pk=record.pk).update(
                status_code=response.status_code, response_body=response.data
            ),
            f"store the answer of claim {record.pk}",
        )
    else:
        # Errors are not remembered: fixing the input and retrying with the key must work.
        _release_claim(record)


def purge_expired_records(*, now: datetime | None = None) -> int:
    """Delete records past the replay window, in batches of short transactions; returns how many.
    Safe to run twice at once: a batch deletes by primary key whatever is still there."""
    cutoff = replay_cutoff(now)
    purged = 0
    while True:
        batch = list(IdempotencyRecord.objects.filter(created_at__lt=cutoff).values_list("pk", flat=True)[:PURGE_BATCH])
        if not batch:
            return purged
        deleted, _ = IdempotencyRecord.objects.filter(pk__in=batch).delete()
        purged += deleted
