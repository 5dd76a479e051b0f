"""Partner API keys: made once, stored as a keyed hash, looked up per request, and the regions
a key covers (a region in its scope covers every neighborhood below it)."""

from __future__ import annotations

import secrets

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.crypto import blind_index
from core.errors import Forbidden, NotAuthenticated
from open311.models import PartnerKey
from residents.models import Region

KEY_PREFIX = "o311_"
HASH_PURPOSE = "open311_api_key"
LAST_USED_GRANULARITY_SECONDS = 300  # last_used_at is written at most this often per key


def hash_key(raw: str) -> str:
    return blind_index(raw, purpose=HASH_PURPOSE)


def do_create_partner_key(*, name: str, regions: list[Region], may_file: bool) -> tuple[PartnerKey, str]:
    """A new key: the row (hash only) and the key itself, to be shown once."""
    raw = KEY_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        key = PartnerKey.objects.create(name=name, key_prefix=raw[:10], key_hash=hash_key(raw), may_file=may_file)
        key.regions.set(regions)
    return key, raw


def authenticate(raw: str | None) -> PartnerKey:
    """The active key `raw` names: missing or unknown → 401, switched off → 403."""
    if not raw:
        raise NotAuthenticated("api_key_required", "缺少 api_key")
    key = PartnerKey.objects.filter(key_hash=hash_key(raw)).first()
    if key is None:
        raise NotAuthenticated("api_key_invalid", "api_key 无效")
    if not key.is_active:
        raise Forbidden("api_key_inactive", "api_key 已停用")
    now = timezone.now()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > LAST_USED_GRANULARITY_SECONDS:
        PartnerKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key


def neighborhood_ids_of(key: PartnerKey) -> set[int]:
    """Every neighborhood the key's regions cover (a district covers its streets' neighborhoods)."""
    region_ids = list(key.regions.values_list("id", flat=True))
    under = Q(pk__in=region_ids) | Q(parent_id__in=region_ids) | Q(parent__parent_id__in=region_ids)
    return set(Region.objects.filter(under, level=Region.Level.NEIGHBORHOOD).values_list("id", flat=True))
