"""PIPL export and erasure for identity, homes, roles, consents and beneficiaries (privacy/pipl.py).

Written by the trust engineer; residents owns the models, this file only reads and scrubs them.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import ProtectedError, RestrictedError
from django.utils import timezone

from privacy.pipl import model_rows, register_eraser, register_exporter
from residents import signals, token_cache
from residents.models import (
    ApiToken,
    Beneficiary,
    Membership,
    PartyIdentityRequest,
    PersonalInfoConsent,
    Role,
    SensitiveAccessLog,
    User,
)

ERASURE_FIELD = "account_erased"


def export(user: User) -> dict:
    profile = model_rows(User.objects.filter(pk=user.pk), exclude=("password",))[0]
    memberships = model_rows(Membership.objects.filter(user=user))
    names = dict(Membership.objects.filter(user=user).values_list("pk", "neighborhood__name"))
    for row in memberships:
        row["neighborhood_name"] = names.get(row["id"], "")
    return {
        "profile": profile,
        "memberships": memberships,
        "roles": model_rows(Role.objects.filter(user=user)),
        "party_identity_requests": model_rows(PartyIdentityRequest.objects.filter(user=user)),
        "consents": model_rows(PersonalInfoConsent.objects.filter(user=user)),
        # The elders they registered, in full: they gave us these details.
        "beneficiaries": model_rows(Beneficiary.objects.filter(owner=user, deleted_at__isnull=True)),
        "sessions": model_rows(ApiToken.objects.filter(user=user), exclude=("key_hash",)),
        # Who on the staff looked at their sensitive details, and when (PIPL art. 45: right to know).
        "sensitive_access_log": model_rows(
            SensitiveAccessLog.objects.filter(subject_user=user).exclude(field=ERASURE_FIELD),
            exclude=("viewer",),
        ),
    }


def erase(user: User) -> None:
    now = timezone.now()
    ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=now)
    token_cache.forget(user.pk)
    # Open WebSockets close (4401) on every server once the erasure commits.
    signals.user_erased.send(sender=User, user_id=user.pk)
    PersonalInfoConsent.objects.filter(user=user, withdrawn_at__isnull=True).update(withdrawn_at=now)
    Role.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=now)
    PartyIdentityRequest.objects.filter(user=user).update(party_branch="", joined_party_year=None)
    for membership in Membership.objects.select_for_update().filter(user=user):
        membership.room = ""
        membership.building = ""
        membership.household_key = ""
        membership.floor_area = None
        membership.is_current = False
        if membership.status in Membership.ACTIVE_STATUSES:
            membership.status = Membership.Status.LEFT
        membership.save()
    for elder in Beneficiary.objects.select_for_update().filter(owner=user):
        _erase_beneficiary(elder, now)
    SensitiveAccessLog.objects.create(
        viewer=user, subject_user=user, subject_label=f"user:{user.pk}", field=ERASURE_FIELD, screen="DELETE /api/v1/me"
    )


def _erase_beneficiary(elder: Beneficiary, now) -> None:
    try:
        with transaction.atomic():
            elder.delete()
            return
    except (ProtectedError, RestrictedError):
        pass
    # Service requests still point at this elder: keep an empty row so they stay consistent.
    elder.name = "已删除"
    elder.phone = ""
    elder.address = ""
    elder.health_notes = ""
    elder.relation = ""
    elder.birth_year = 0
    elder.is_default = False
    elder.deleted_at = elder.deleted_at or now
    elder.save()


register_exporter("residents", export)
register_eraser("residents", erase)
