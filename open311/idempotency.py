"""Idempotency-Key on POST requests (docs/open311.md): a partner that retries a filing after a
lost answer gets the first answer again, not a second matter.

Core's `@idempotent` (core/idempotency.py) keys its records on a user; a partner is a key, not a
user, so the record here is the `PartnerRequest` itself: the Idempotency-Key and a keyed hash of
the form are written with it, in the filing's transaction, under a unique constraint per key.
So a repeat finds the first filing, and two attempts at once cannot both commit (the loser's
transaction rolls back whole and it answers the winner's filing). The rules are core's: same key
and form → the first answer (201, `Idempotent-Replayed: true`) within REPLAY_WINDOW (24 h); same
key, other form → 422 `idempotency_key_reused`; errors are not remembered (fix and retry with the
same key); after the window the key is free again."""

from __future__ import annotations

import json

from django.utils import timezone
from rest_framework.response import Response

from core.crypto import blind_index
from core.errors import Conflict, Unprocessable
from core.idempotency import replay_cutoff
from open311 import georeport
from open311.models import PartnerKey, PartnerRequest


def fingerprint(data) -> str:
    """A keyed hash of the form (the api_key left out: the record already names the key)."""
    if hasattr(data, "getlist"):
        fields = {k: data.getlist(k) for k in data.keys() if k != "api_key"}
    else:
        fields = {k: v for k, v in dict(data).items() if k != "api_key"}
    canonical = json.dumps(fields, sort_keys=True, default=str, ensure_ascii=False)
    return blind_index(canonical, purpose="open311-idempotency-fingerprint")


def replay(key: PartnerKey, idempotency_key: str, print_: str, *, racing: bool = False) -> Response | None:
    """The first answer for this key, or None when the key is new (or past the window, then
    freed). `racing`: called after losing the insert, so a missing record means the winner is
    still running (409 `idempotency_in_progress`, retry)."""
    first = (
        PartnerRequest.objects.select_related("matter__case__unit")
        .filter(key=key, idempotency_key=idempotency_key).first()
    )
    if first is None:
        if racing:
            raise Conflict("idempotency_in_progress", "相同请求正在处理，请稍后重试")
        return None
    if first.created_at < replay_cutoff(timezone.now()):
        PartnerRequest.objects.filter(pk=first.pk, idempotency_key=idempotency_key).update(idempotency_key=None)
        return None
    if first.fingerprint != print_:
        raise Unprocessable("idempotency_key_reused", "Idempotency-Key 已用于另一个请求")
    response = Response([georeport.created_out(first.matter)], status=201)
    response["Idempotent-Replayed"] = "true"
    return response
