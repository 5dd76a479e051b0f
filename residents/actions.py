"""Every write about identity, homes, roles and beneficiaries (docs/architecture.md, Inside an app).

Each action runs in one transaction, locks the rows it changes, and announces the change
through residents/signals.py inside that transaction; notifications connects to them
(notifications/on_residents.py) and sends its messages and events once it commits.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.crypto import blind_index
from core.errors import Conflict, Forbidden, InvalidInput, NotFound, Unprocessable
from residents import access, signals, token_cache
from residents.models import (
    ApiToken,
    Beneficiary,
    Membership,
    PartyIdentityRequest,
    PersonalInfoConsent,
    Region,
    Role,
    SensitiveAccessLog,
    User,
)

logger = logging.getLogger(__name__)

DEFAULT_NICKNAME = "微信用户"


# --- login and tokens ---------------------------------------------------------------


def do_login_wechat(
    *, openid: str, unionid: str | None, nickname: str = "", avatar_url: str = "", user_agent: str = ""
) -> tuple[User, str, ApiToken, bool]:
    """Find or create the user for a WeChat openid and issue a token.

    Returns (user, raw_token, token, created). The caller has already exchanged the
    code with WeChat; the session_key never reaches this function.
    """
    for _attempt in range(2):
        try:
            with transaction.atomic():
                user = User.objects.select_for_update().filter(openid=openid).first()
                created = user is None
                if user is None:
                    user = User(openid=openid, username=f"wx_{openid}"[:150], nickname=nickname or DEFAULT_NICKNAME)
                    user.set_unusable_password()
                if user.is_banned or user.deleted_at is not None or not user.is_active:
                    raise Forbidden("user_banned", "账号已停用，如有疑问请联系居委会")
                if unionid:
                    user.unionid = unionid
                if nickname:
                    user.nickname = nickname
                if avatar_url:
                    user.avatar_url = avatar_url
                user.last_login = timezone.now()
                user.save()
                token, raw = ApiToken.issue(user, user_agent=user_agent)
                return user, raw, token, created
        except IntegrityError:
            # Two first logins of one openid at once: the other created the user; log in as it.
            continue
    raise Conflict("login_conflict", "登录冲突，请重试")


def do_logout(*, token: ApiToken) -> None:
    """Revoke one token; the WebSockets opened with it close (4401) once this commits."""
    with transaction.atomic():
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
        token_cache.forget(token.user_id)  # refused on every server process within a second
        signals.token_revoked.send(sender=ApiToken, token_id=token.pk)


def do_ban_user(*, user_id: int, actor: User | None) -> User:
    """Ban a user: they can no longer log in, every token they hold stops working now, and
    their open WebSockets close (4401) on every server once this commits."""
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user_id)
        user.is_banned = True
        user.save(update_fields=["is_banned"])
        revoked = ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
        token_cache.forget(user.pk)
        signals.user_banned.send(sender=User, user_id=user.pk)
        logger.info("user %s banned by %s; %d tokens revoked", user.pk, getattr(actor, "pk", None), revoked)
    return user


def do_unban_user(*, user_id: int, actor: User | None) -> User:
    """Lift a ban. Old tokens stay revoked: the user logs in again."""
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user_id)
        user.is_banned = False
        user.save(update_fields=["is_banned"])
        logger.info("user %s unbanned by %s", user.pk, getattr(actor, "pk", None))
    return user


# --- profile, phone and consents ----------------------------------------------------


def do_update_profile(*, actor: User, changes: dict[str, Any]) -> User:
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=actor.pk)
        for name in ("nickname", "avatar_url"):
            if name in changes:
                setattr(user, name, changes[name])
        user.save(update_fields=[n for n in ("nickname", "avatar_url") if n in changes] or ["nickname"])
    return user


def has_consent(user: User, purpose: str) -> bool:
    return PersonalInfoConsent.objects.filter(user=user, purpose=purpose, withdrawn_at__isnull=True).exists()


def require_consent(user: User, purpose: str) -> None:
    if not has_consent(user, purpose):
        label = PersonalInfoConsent.Purpose(purpose).label
        raise Forbidden("consent_required", f"请先同意《个人信息收集告知》中的「{label}」", purpose=purpose)


def do_record_consent(*, actor: User, purpose: str, text_version: str) -> tuple[PersonalInfoConsent, bool]:
    """Record a consent; if one is already active for the purpose, keep it (returns created=False)."""
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=actor.pk).first()  # serialise one user's consent changes
        existing = PersonalInfoConsent.objects.filter(user=actor, purpose=purpose, withdrawn_at__isnull=True).first()
        if existing is not None:
            if existing.text_version == text_version:
                return existing, False
            # A newer notice text: the old consent ends, a new one starts.
            existing.withdrawn_at = timezone.now()
            existing.save(update_fields=["withdrawn_at"])
        consent = PersonalInfoConsent.objects.create(user=actor, purpose=purpose, text_version=text_version)
    return consent, True


def do_withdraw_consent(*, actor: User, purpose: str) -> PersonalInfoConsent:
    """Withdraw a consent and erase what was collected under it (PIPL art. 15/47)."""
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=actor.pk)
        consent = PersonalInfoConsent.objects.filter(user=user, purpose=purpose, withdrawn_at__isnull=True).first()
        if consent is None:
            raise NotFound("consent_not_found", "没有该项有效授权")
        consent.withdrawn_at = timezone.now()
        consent.save(update_fields=["withdrawn_at"])
        if purpose == PersonalInfoConsent.Purpose.PHONE:
            user.phone = ""
            user.phone_bound_at = None
            user.save(update_fields=["phone", "phone_bound_at"])
        elif purpose == PersonalInfoConsent.Purpose.ADDRESS:
            _clear_owned_beneficiary_field(user, "address")
        elif purpose == PersonalInfoConsent.Purpose.HEALTH:
            _clear_owned_beneficiary_field(user, "health_notes")
    return consent


def _clear_owned_beneficiary_field(user: User, field: str) -> None:
    # Only what this user collected; elders filed by staff on paper consent are not theirs to erase.
    for beneficiary in Beneficiary.objects.select_for_update().filter(owner=user, filed_by_staff__isnull=True):
        setattr(beneficiary, field, "")
        beneficiary.save(update_fields=[field])


def do_bind_phone(*, actor: User, pure_phone_number: str) -> User:
    """Store the number WeChat vouched for. Requires an active phone consent."""
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=actor.pk)
        require_consent(user, PersonalInfoConsent.Purpose.PHONE)
        user.phone = pure_phone_number
        user.phone_bound_at = timezone.now()
        user.save(update_fields=["phone", "phone_bound_at"])
    return user


# --- memberships ----------------------------------------------------------------------


def household_key(neighborhood_id: int, building: str, room: str) -> str:
    return blind_index(f"{neighborhood_id}|{building.strip()}|{room.strip()}", purpose="household")


def do_apply_membership(
    *,
    actor: User,
    neighborhood: Region,
    building: str,
    room: str,
    building_group: Region | None = None,
    is_owner: bool = False,
    floor_area: Decimal | None = None,
    joined_via: str = "choose",
) -> tuple[Membership, bool]:
    """Apply to join a 居委/村. The same application again returns the existing one (created=False);
    a different active one in the same neighborhood is a 409 `membership_exists`."""
    if building_group is not None and building_group.parent_id != neighborhood.pk:
        raise InvalidInput("building_group_mismatch", "所选楼组不属于该居委/村", field="building_group")
    key = household_key(neighborhood.pk, building, room)
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=actor.pk).first()  # one application at a time per user
        existing = Membership.objects.filter(
            user=actor, neighborhood=neighborhood, status__in=Membership.ACTIVE_STATUSES
        ).first()
        if existing is not None:
            if existing.household_key == key:
                return existing, False
            raise Conflict(
                "membership_exists", "您在该居委/村已有居民身份或待审核申请", membership_id=existing.pk, current=existing.status
            )
        membership = Membership.objects.create(
            user=actor,
            neighborhood=neighborhood,
            building_group=building_group,
            building=building.strip(),
            room=room.strip(),
            household_key=key,
            is_owner=is_owner,
            floor_area=floor_area,
            joined_via=joined_via,
        )
        signals.membership_applied.send(sender=Membership, membership=membership)
    access.forget_profile(actor)
    return membership, True


def do_decide_membership(*, membership_id: int, actor: User, approve: bool, reason: str = "") -> Membership:
    """Approve or reject a pending application. Call after access checks; re-checks the state under lock."""
    with transaction.atomic():
        membership = Membership.objects.select_for_update().select_related("neighborhood").get(pk=membership_id)
        if not access.is_staff_for(actor, membership.neighborhood_id):
            raise Forbidden("staff_only", "仅限该居委/村的工作人员审核")
        if membership.status != Membership.Status.PENDING:
            raise Conflict("membership_state_changed", "该申请已被处理", current=membership.status)
        if not approve and not reason.strip():
            raise InvalidInput("reason_required", "驳回时请填写原因", field="reason")
        now = timezone.now()
        membership.status = Membership.Status.APPROVED if approve else Membership.Status.REJECTED
        membership.reject_reason = "" if approve else reason.strip()
        membership.decided_by = actor
        membership.decided_at = now
        fields = ["status", "reject_reason", "decided_by", "decided_at"]
        if approve and not Membership.objects.filter(user_id=membership.user_id, is_current=True).exists():
            membership.is_current = True
            fields.append("is_current")
        membership.save(update_fields=fields)
        if not approve:
            signals.membership_ended.send(sender=Membership, user_id=membership.user_id, region_id=membership.neighborhood_id)
        signals.membership_decided.send(sender=Membership, membership=membership, approved=approve)
    return membership


def do_set_current_membership(*, membership_id: int, actor: User) -> Membership:
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=actor.pk).first()
        membership = Membership.objects.select_for_update().get(pk=membership_id, user=actor)
        if membership.status != Membership.Status.APPROVED:
            raise Conflict("membership_state_changed", "只有已通过审核的家庭可以设为当前", current=membership.status)
        if not membership.is_current:
            Membership.objects.filter(user=actor, is_current=True).update(is_current=False)
            membership.is_current = True
            membership.save(update_fields=["is_current"])
    return membership


def do_leave_membership(*, membership_id: int, actor: User) -> Membership:
    """Leave a home (or withdraw a pending application). Roles held there end with it, and so
    do the user's WebSocket subscriptions to its streams (once this commits)."""
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=actor.pk).first()
        membership = Membership.objects.select_for_update().get(pk=membership_id, user=actor)
        if membership.status not in Membership.ACTIVE_STATUSES:
            raise Conflict("membership_state_changed", "该居民身份已失效", current=membership.status)
        was_current = membership.is_current
        membership.status = Membership.Status.LEFT
        membership.is_current = False
        membership.save(update_fields=["status", "is_current"])
        # Resident-side roles only exist because of the home; staff roles are granted separately.
        Role.objects.filter(
            user=actor,
            region_id=membership.neighborhood_id,
            kind__in=[Role.Kind.PARTY_MEMBER, Role.Kind.MODERATOR, Role.Kind.BUILDING_LEADER],
            revoked_at__isnull=True,
        ).update(revoked_at=timezone.now())
        if was_current:
            successor = (
                Membership.objects.filter(user=actor, status=Membership.Status.APPROVED).order_by("-created_at").first()
            )
            if successor is not None:
                Membership.objects.filter(pk=successor.pk).update(is_current=True)
        signals.membership_ended.send(sender=Membership, user_id=actor.pk, region_id=membership.neighborhood_id)
    access.forget_profile(actor)
    return membership


# --- party identity (亮身份) ---------------------------------------------------------


def do_request_party_identity(
    *, actor: User, neighborhood: Region, party_branch: str, joined_party_year: int | None
) -> tuple[PartyIdentityRequest, bool]:
    if not access.is_member(actor, neighborhood.pk):
        raise Forbidden("membership_required", "请先成为该居委/村的认证居民")
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=actor.pk).first()
        if Role.objects.filter(
            user=actor, region=neighborhood, kind=Role.Kind.PARTY_MEMBER, revoked_at__isnull=True
        ).exists():
            raise Conflict("party_identity_exists", "您已在该居委/村亮明党员身份")
        pending = PartyIdentityRequest.objects.filter(
            user=actor, neighborhood=neighborhood, status=PartyIdentityRequest.Status.PENDING
        ).first()
        if pending is not None:
            if pending.party_branch == party_branch and pending.joined_party_year == joined_party_year:
                return pending, False
            raise Conflict("party_identity_pending", "已有待审核的亮身份申请", request_id=pending.pk)
        request = PartyIdentityRequest.objects.create(
            user=actor, neighborhood=neighborhood, party_branch=party_branch, joined_party_year=joined_party_year
        )
        signals.party_identity_requested.send(sender=PartyIdentityRequest, request=request)
    return request, True


def do_decide_party_identity(*, request_id: int, actor: User, approve: bool, reason: str = "") -> PartyIdentityRequest:
    with transaction.atomic():
        request = PartyIdentityRequest.objects.select_for_update().select_related("neighborhood").get(pk=request_id)
        if not access.is_staff_for(actor, request.neighborhood_id):
            raise Forbidden("staff_only", "仅限该居委/村的工作人员审核")
        if request.status != PartyIdentityRequest.Status.PENDING:
            raise Conflict("party_identity_state_changed", "该申请已被处理", current=request.status)
        if not approve and not reason.strip():
            raise InvalidInput("reason_required", "驳回时请填写原因", field="reason")
        request.status = PartyIdentityRequest.Status.APPROVED if approve else PartyIdentityRequest.Status.REJECTED
        request.reject_reason = "" if approve else reason.strip()
        request.decided_by = actor
        request.decided_at = timezone.now()
        request.save(update_fields=["status", "reject_reason", "decided_by", "decided_at"])
        if approve:
            Role.objects.get_or_create(
                user_id=request.user_id,
                region_id=request.neighborhood_id,
                kind=Role.Kind.PARTY_MEMBER,
                revoked_at=None,
                defaults={"title": request.party_branch[:32], "granted_by": actor},
            )
        signals.party_identity_decided.send(sender=PartyIdentityRequest, request=request, approved=approve)
    return request


# --- roles ---------------------------------------------------------------------------

# Kinds that only make sense for someone who lives in the neighborhood.
RESIDENT_ROLE_KINDS = (Role.Kind.PARTY_MEMBER, Role.Kind.MODERATOR, Role.Kind.BUILDING_LEADER)


def do_grant_role(*, actor: User, grantee: User, region: Region, kind: str, title: str = "") -> Role:
    """Grant a role. The caller has checked `access.grantable_role_kinds` for actor and region."""
    if Role.LEVELS[Role.Kind(kind)] != region.level:
        raise InvalidInput(
            "role_level_mismatch", f"「{Role.Kind(kind).label}」须在{Region.Level(Role.LEVELS[kind]).label}一级授予", field="region"
        )
    if kind not in access.grantable_role_kinds(actor, region):
        raise Forbidden("role_grant_forbidden", "您无权授予该角色")
    if kind in RESIDENT_ROLE_KINDS and not Membership.objects.filter(
        user=grantee, neighborhood=region, status=Membership.Status.APPROVED
    ).exists():
        raise Unprocessable("grantee_not_member", "该用户不是本居委/村的认证居民")
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=grantee.pk).first()
        if Role.objects.filter(user=grantee, region=region, kind=kind, revoked_at__isnull=True).exists():
            raise Conflict("role_exists", "该用户已有此角色")
        role = Role.objects.create(user=grantee, region=region, kind=kind, title=title, granted_by=actor)
        signals.role_granted.send(sender=Role, role=role)
    return role


def do_revoke_role(*, role_id: int, actor: User) -> Role:
    with transaction.atomic():
        role = Role.objects.select_for_update().select_related("region").get(pk=role_id)
        if role.revoked_at is not None:
            raise Conflict("role_state_changed", "该角色已被撤销", current="revoked")
        if role.kind not in access.grantable_role_kinds(actor, role.region):
            raise Forbidden("role_grant_forbidden", "您无权撤销该角色")
        role.revoked_at = timezone.now()
        role.save(update_fields=["revoked_at"])
        # Staff streams of the region (and anything else the role granted) end with it.
        signals.role_revoked.send(sender=Role, user_id=role.user_id, region_id=role.region_id)
    return role


# --- beneficiaries --------------------------------------------------------------------

SENSITIVE_BENEFICIARY_FIELDS = {"address": PersonalInfoConsent.Purpose.ADDRESS, "health_notes": PersonalInfoConsent.Purpose.HEALTH}


def _check_beneficiary_consents(owner: User, values: dict[str, Any], *, offline_consent_version: str) -> None:
    for field, purpose in SENSITIVE_BENEFICIARY_FIELDS.items():
        if values.get(field):
            if offline_consent_version:
                continue  # staff filing: the elder signed the paper notice of this version
            require_consent(owner, purpose)


def do_create_beneficiary(
    *,
    actor: User,
    owner: User,
    neighborhood: Region,
    values: dict[str, Any],
    filed_by_staff: bool = False,
    offline_consent_version: str = "",
) -> Beneficiary:
    if filed_by_staff and not offline_consent_version and any(values.get(f) for f in SENSITIVE_BENEFICIARY_FIELDS):
        raise Forbidden(
            "consent_required", "代为登记住址或健康状况须先让老人签署书面告知并填写版本号", purpose="offline"
        )
    if not filed_by_staff:
        _check_beneficiary_consents(owner, values, offline_consent_version="")
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=owner.pk).first()  # serialise default flips
        has_default = Beneficiary.objects.filter(owner=owner, is_default=True, deleted_at__isnull=True).exists()
        make_default = bool(values.get("is_default")) or not has_default
        if make_default and has_default:
            Beneficiary.objects.filter(owner=owner, is_default=True, deleted_at__isnull=True).update(is_default=False)
        fields = {k: v for k, v in values.items() if k != "is_default"}
        beneficiary = Beneficiary.objects.create(
            owner=owner,
            neighborhood=neighborhood,
            is_default=make_default,
            filed_by_staff=actor if filed_by_staff else None,
            offline_consent_version=offline_consent_version if filed_by_staff else "",
            **fields,
        )
    return beneficiary


def do_update_beneficiary(*, beneficiary_id: int, actor: User, changes: dict[str, Any]) -> Beneficiary:
    with transaction.atomic():
        beneficiary = Beneficiary.objects.select_for_update().get(pk=beneficiary_id, deleted_at__isnull=True)
        require_beneficiary_editor(actor, beneficiary)
        if beneficiary.filed_by_staff_id is None:
            _check_beneficiary_consents(beneficiary.owner, changes, offline_consent_version="")
        if changes.get("is_default") and not beneficiary.is_default:
            Beneficiary.objects.filter(owner_id=beneficiary.owner_id, is_default=True, deleted_at__isnull=True).exclude(
                pk=beneficiary.pk
            ).update(is_default=False)
        for name, value in changes.items():
            setattr(beneficiary, name, value)
        if changes:
            beneficiary.save(update_fields=list(changes))
    return beneficiary


def do_delete_beneficiary(*, beneficiary_id: int, actor: User) -> None:
    """Soft delete, erasing the sensitive fields at once (the row stays for service history)."""
    with transaction.atomic():
        beneficiary = Beneficiary.objects.select_for_update().get(pk=beneficiary_id, deleted_at__isnull=True)
        require_beneficiary_editor(actor, beneficiary)
        beneficiary.deleted_at = timezone.now()
        beneficiary.is_default = False
        beneficiary.phone = ""
        beneficiary.address = ""
        beneficiary.health_notes = ""
        beneficiary.save(update_fields=["deleted_at", "is_default", "phone", "address", "health_notes"])


def require_beneficiary_editor(actor: User, beneficiary: Beneficiary) -> None:
    """The owner edits; staff of the neighborhood edit only what staff filed."""
    if beneficiary.owner_id == actor.pk:
        return
    if beneficiary.filed_by_staff_id is not None and access.is_staff_for(actor, beneficiary.neighborhood_id):
        return
    raise Forbidden("owner_only", "只有登记人可以修改")


def log_sensitive_access(
    *, viewer: User, subject_user_id: int | None, subject_label: str, fields: list[str], screen: str
) -> None:
    SensitiveAccessLog.objects.bulk_create(
        [
            SensitiveAccessLog(
                viewer=viewer, subject_user_id=subject_user_id, subject_label=subject_label, field=field, screen=screen[:100]
            )
            for field in fields
        ]
    )
