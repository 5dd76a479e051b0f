"""PIPL rights: everything held about a person can be exported, and erased on request.

Each app that holds personal data registers what it knows and how to forget it, in a
`pipl.py` module of its own (found at start-up by PrivacyConfig.ready, like admin.py):

    # services/pipl.py
    from privacy.pipl import register_eraser, register_exporter

    def export(user) -> dict:       # JSON-serialisable, full values: it is their own data
        return {"service_requests": [...]}

    def erase(user) -> None:        # called inside the erasure transaction, user row locked
        ServiceRequest.objects.filter(requester=user).update(address="", health_notes="")

    register_exporter("services", export)
    register_eraser("services", erase)

`do_erase_user` then calls every eraser and turns the account into a tombstone: the row
stays (public posts and votes still point at it and show "已注销用户"), but nothing
identifying is left on it and it can never log in again; a later WeChat login with the
same openid makes a fresh account. See docs/pipl.md.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models.fields.files import FieldFile
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules

from core.errors import NotFound

logger = logging.getLogger("stq.audit")

ERASED_NICKNAME = "已注销用户"

Exporter = Callable[[Any], dict]
Eraser = Callable[[Any], None]

_exporters: dict[str, Exporter] = {}
_erasers: dict[str, Eraser] = {}


def register_exporter(name: str, fn: Exporter) -> None:
    """Add a section to GET /api/v1/me/export. Registering a name again replaces it."""
    _exporters[name] = fn


def register_eraser(name: str, fn: Eraser) -> None:
    """Add a step to DELETE /api/v1/me. Registering a name again replaces it."""
    _erasers[name] = fn


def exporters() -> dict[str, Exporter]:
    return dict(_exporters)


def erasers() -> dict[str, Eraser]:
    return dict(_erasers)


def autodiscover() -> None:
    autodiscover_modules("pipl")


def export_user(user) -> dict[str, Any]:
    """Everything held about `user`, one section per registered app."""
    return {
        "exported_at": timezone.now(),
        "user_id": user.pk,
        "sections": {name: fn(user) for name, fn in _exporters.items()},
    }


def do_erase_user(*, user, actor, screen: str) -> None:
    """Erase a person's personal data and retire the account, all or nothing.

    `actor` is the user themself (DELETE /api/v1/me) or an administrator acting on a
    written request. Raises NotFound if the account is already erased.
    """
    User = get_user_model()
    with transaction.atomic():
        locked = User.objects.select_for_update().filter(pk=user.pk, deleted_at__isnull=True).first()
        if locked is None:
            raise NotFound()
        for name, fn in _erasers.items():
            fn(locked)
            logger.debug("pipl eraser %s done for user %s", name, locked.pk)
        _tombstone(locked)
        # The audit line carries ids only: the log must not become a copy of what was erased.
        logger.info(
            "pipl.erase user=%s actor=%s screen=%s erasers=%s", locked.pk, getattr(actor, "pk", None), screen,
            ",".join(_erasers),
        )


def _tombstone(user) -> None:
    user.phone = ""
    if hasattr(user, "phone_bound_at"):
        user.phone_bound_at = None
    user.nickname = ERASED_NICKNAME
    user.avatar_url = ""
    user.first_name = ""
    user.last_name = ""
    user.email = ""
    # Freed so a later login with the same WeChat account creates a fresh user; the old
    # username embeds the openid, so it goes too.
    user.openid = None
    user.unionid = None
    user.username = f"erased_{user.pk}_{secrets.token_hex(4)}"
    user.set_unusable_password()
    user.is_active = False
    user.is_staff = False
    user.is_superuser = False
    user.deleted_at = timezone.now()
    user.save()


def model_rows(queryset, *, exclude: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Every concrete field of every row (FKs as ids, encrypted fields decrypted), for exporters.

    Generic on purpose: a field an app adds later shows up in the export without anyone
    remembering to add it here.
    """
    model = queryset.model
    fields = [f for f in model._meta.concrete_fields if f.name not in exclude]
    rows = []
    for obj in queryset.order_by("pk"):
        rows.append({f.attname: _plain(getattr(obj, f.attname)) for f in fields})
    return rows


def _plain(value: Any) -> Any:
    # A FileField's value would be serialised by reading the file; the export names it.
    if isinstance(value, FieldFile):
        return value.name
    return value
