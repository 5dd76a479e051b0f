"""What notifications does when something happens in residents (residents/signals.py).

Connected in NotificationsConfig.ready. Each receiver runs inside the residents action's
transaction: inbox rows are written there, and socket messages and broadcasts go out once it
commits (notifications.sessions, notifications.realtime), as if the action had called them.
"""

from __future__ import annotations

from typing import Any

from notifications import sessions
from notifications.actions import do_notify
from notifications.realtime import publish_on_commit
from residents import signals


def _staff_stream(neighborhood_id: int) -> str:
    return f"staff.neighborhood.{neighborhood_id}"


# --- sessions and reach ---------------------------------------------------------------


def on_token_revoked(sender: Any, *, token_id: int, **kwargs: Any) -> None:
    sessions.close_sessions_on_commit(reason=sessions.REASON_LOGOUT, token_id=token_id)


def on_user_banned(sender: Any, *, user_id: int, **kwargs: Any) -> None:
    sessions.close_sessions_on_commit(reason=sessions.REASON_BANNED, user_id=user_id)


def on_user_erased(sender: Any, *, user_id: int, **kwargs: Any) -> None:
    sessions.close_sessions_on_commit(reason=sessions.REASON_ERASED, user_id=user_id)


def on_membership_ended(sender: Any, *, user_id: int, region_id: int, **kwargs: Any) -> None:
    sessions.recheck_streams_on_commit(user_id=user_id, reason=sessions.REASON_MEMBERSHIP_ENDED, region_id=region_id)


def on_role_revoked(sender: Any, *, user_id: int, region_id: int, **kwargs: Any) -> None:
    sessions.recheck_streams_on_commit(user_id=user_id, reason=sessions.REASON_ROLE_REVOKED, region_id=region_id)


# --- decisions and requests -----------------------------------------------------------


def on_membership_applied(sender: Any, *, membership, **kwargs: Any) -> None:
    publish_on_commit(_staff_stream(membership.neighborhood_id), "membership.applied", {"membership_id": membership.pk})


def on_membership_decided(sender: Any, *, membership, approved: bool, **kwargs: Any) -> None:
    name = membership.neighborhood.name
    decision = "approved" if approved else "rejected"
    do_notify(
        recipients=[membership.user_id],
        kind=f"membership_{decision}",
        title="入驻申请已通过" if approved else "入驻申请未通过",
        body=f"您加入{name}的申请已通过审核。" if approved else f"您加入{name}的申请未通过：{membership.reject_reason}",
        # Approved: the neighborhood's home; rejected: the application, with its reason.
        page=f"pages/home/index?neighborhood_id={membership.neighborhood_id}" if approved
        else f"pages/me/membership?id={membership.pk}",
        data={
            "membership_id": membership.pk, "neighborhood_id": membership.neighborhood_id, "neighborhood_name": name,
            "reason": membership.reject_reason,
        },
        event_key=f"membership:{membership.pk}:{decision}",
    )
    publish_on_commit(
        _staff_stream(membership.neighborhood_id),
        "membership.decided",
        {"membership_id": membership.pk, "status": membership.status},
    )


def on_party_identity_requested(sender: Any, *, request, **kwargs: Any) -> None:
    publish_on_commit(_staff_stream(request.neighborhood_id), "party_identity.requested", {"request_id": request.pk})


def on_party_identity_decided(sender: Any, *, request, approved: bool, **kwargs: Any) -> None:
    if approved:
        do_notify(
            recipients=[request.user_id],
            kind="party_identity_verified",
            title="党员身份已认证",
            body=f"您在{request.neighborhood.name}的党员身份已认证，将显示党员标识。",
            page=f"pages/me/party-identity?id={request.pk}",
            data={"request_id": request.pk, "neighborhood_name": request.neighborhood.name},
            event_key=f"party_identity:{request.pk}:approved",
        )
    else:
        do_notify(
            recipients=[request.user_id],
            kind="party_identity_rejected",
            title="亮身份申请未通过",
            body=f"原因：{request.reject_reason}",
            page=f"pages/me/party-identity?id={request.pk}",
            data={"request_id": request.pk, "neighborhood_name": request.neighborhood.name, "reason": request.reject_reason},
            event_key=f"party_identity:{request.pk}:rejected",
        )


def on_role_granted(sender: Any, *, role, **kwargs: Any) -> None:
    do_notify(
        recipients=[role.user_id],
        kind="role_granted",
        title="您有新的身份",
        body=f"您已成为{role.region.name}的{role.get_kind_display()}。",
        page="pages/me/index",
        data={"role_id": role.pk},
        event_key=f"role:{role.pk}:granted",
    )


RECEIVERS = {
    signals.token_revoked: on_token_revoked,
    signals.user_banned: on_user_banned,
    signals.user_erased: on_user_erased,
    signals.membership_ended: on_membership_ended,
    signals.role_revoked: on_role_revoked,
    signals.membership_applied: on_membership_applied,
    signals.membership_decided: on_membership_decided,
    signals.party_identity_requested: on_party_identity_requested,
    signals.party_identity_decided: on_party_identity_decided,
    signals.role_granted: on_role_granted,
}


def connect() -> None:
    for signal, receiver in RECEIVERS.items():
        signal.connect(receiver, dispatch_uid=f"notifications.on_residents.{receiver.__name__}")
