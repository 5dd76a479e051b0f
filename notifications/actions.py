"""The one way apps tell people things, and the writes behind the inbox and consents."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from notifications import consent_sql, inbox_sql
from notifications.inbox_sql import RoleHolders, notice_event
from notifications.models import (
    ConsentGrant,
    Notification,
    OutboxMessage,
    SubscribeConsent,
)
from notifications.realtime import broadcast_on_commit, publish_many_on_commit, publish_on_commit
from notifications.templates import TemplateSpec, build_data, is_long_term, template_for

logger = logging.getLogger(__name__)

# The mini-program's report of a popup and WeChat's push about it describe one tap when
# they arrive this close together (the push usually follows within seconds).
CONSENT_MATCH_WINDOW = timedelta(minutes=10)


def outbox_deadline_seconds() -> int:
    # Long enough to ride out an afternoon of WeChat trouble; a push a day late is noise.
    return int(getattr(settings, "NOTIFICATIONS_OUTBOX_DEADLINE_SECONDS", 6 * 3600))


def do_notify(
    *,
    recipients: Iterable[Any] | RoleHolders,
    kind: str,
    title: str,
    body: str = "",
    page: str = "",
    data: dict[str, Any] | None = None,
    event_key: str,
    fresh: bool = False,
    also_publish: list[tuple[str, str, dict[str, Any]]] | None = None,
    urgent: bool = False,
) -> list[Notification]:
    """Create one inbox entry per recipient for this event (idempotent per (event_key, recipient)),
    announce each on the recipient's `user.<id>` stream after commit, and, where the kind has a
    subscribe-message template and the recipient a WeChat openid, write the outbox row that a
    worker sends after commit.

    Call inside the transaction of the change being reported, so all of it commits or none does.
    `recipients` are users or user ids, or `RoleHolders(region_id, kind)`. `fresh=True` says the
    event is new (its key names a row made in this transaction), so nobody can have it yet and
    the check is skipped (the unique constraint still holds). `also_publish`: the caller's own
    realtime events, written with the recipients' (stream, type, payload). `urgent=True` (a sensor
    alarm's case, due in minutes) enqueues the WeChat send at the top task priority, so a worker
    takes it before any queued routine send (a broadcast's fan-out, a sweep).
    On PostgreSQL the inbox rows and all the events are one statement (notifications.inbox_sql),
    which also reads role holders itself when the event is fresh.
    """
    also_publish = also_publish or []
    title, body, data = title[:64], body[:500], data or {}
    one_statement = inbox_sql.available()
    if isinstance(recipients, RoleHolders) and not (fresh and one_statement):
        recipients = recipients.user_ids()
    if not isinstance(recipients, RoleHolders):
        recipients = list(dict.fromkeys(getattr(r, "pk", r) for r in recipients if r is not None))
        if not fresh and recipients:
            # One SELECT for who already has it and one INSERT for the rest, whatever the number
            # of recipients; the unique constraint still refuses a concurrent duplicate.
            existing = set(
                Notification.objects.filter(event_key=event_key, recipient_id__in=recipients).values_list(
                    "recipient_id", flat=True
                )
            )
            recipients = [user_id for user_id in recipients if user_id not in existing]
        if not recipients:
            publish_many_on_commit(also_publish)
            return []
    # No savepoint: no caller catches an error from here and carries on in the same
    # transaction; but a caller outside one still gets its rows all or none.
    with transaction.atomic(savepoint=False):
        if one_statement:
            now = timezone.now()
            written = inbox_sql.insert(
                recipients=recipients, kind=kind, title=title, body=body, page=page, data=data, event_key=event_key,
                also_publish=also_publish, now=now,
            )
            created = [
                Notification(
                    id=notification_id, recipient_id=recipient_id, kind=kind, title=title, body=body, page=page,
                    data=data, event_key=event_key, created_at=now,
                )
                for notification_id, recipient_id in written.notifications
            ]
            broadcast_on_commit(written.events)
        else:
            created = Notification.objects.bulk_create(
                [
                    Notification(
                        recipient_id=user_id, kind=kind, title=title, body=body, page=page, data=data, event_key=event_key
                    )
                    for user_id in recipients
                ]
            )
            publish_many_on_commit(
                [*also_publish, *(notice_event(n.id, n.recipient_id, kind, n.title, page) for n in created)]
            )
        spec = template_for(kind)
        if spec is not None and created:
            _write_outbox(spec, created, urgent=urgent)
    return created


def _write_outbox(spec: TemplateSpec, notifications: list[Notification], *, urgent: bool = False) -> None:
    User = get_user_model()
    openids = dict(
        User.objects.filter(pk__in=[n.recipient_id for n in notifications], openid__isnull=False)
        .exclude(openid="")
        .values_list("pk", "openid")
    )
    now = timezone.now()
    deadline = now + timedelta(seconds=outbox_deadline_seconds())
    # Consents for every recipient with an openid at once: one statement however many there are.
    consented = _reserve_consents([n.recipient_id for n in notifications if openids.get(n.recipient_id)], spec, now)
    messages: list[OutboxMessage] = []
    for notification in notifications:
        openid = openids.get(notification.recipient_id)
        if not openid:
            continue
        has_consent = notification.recipient_id in consented
        status = OutboxMessage.Status.PENDING if has_consent else OutboxMessage.Status.SKIPPED_NO_CONSENT
        messages.append(
            OutboxMessage(
                notification=notification,
                event_key=notification.event_key,
                recipient_id=notification.recipient_id,
                channel=OutboxMessage.Channel.WECHAT,
                kind=notification.kind,
                openid=openid,
                template_id=spec.template_id,
                # The notification names the object it is about (…?id=12); the template's page is a fallback.
                page=notification.page or spec.page,
                data=build_data(spec, notification),
                consent_reserved=has_consent and not spec.long_term,
                status=status,
                next_attempt_at=now if has_consent else None,
                deadline=deadline,
                finished_at=None if has_consent else now,
            )
        )
    if not messages:
        return
    OutboxMessage.objects.bulk_create(messages)
    to_send = [m.pk for m in messages if m.status == OutboxMessage.Status.PENDING]
    if to_send:
        from notifications.delivery import enqueue_delivery

        transaction.on_commit(lambda: enqueue_delivery(to_send, urgent=urgent))


def _reserve_consents(user_ids: list[int], spec: TemplateSpec, now) -> set[int]:
    """Set one unused consent aside per recipient, so that one accept means one push; return who had one."""
    if not user_ids:
        return set()
    if spec.long_term:
        return set(
            SubscribeConsent.objects.filter(
                user_id__in=user_ids, template_id=spec.template_id, long_term_active=True
            ).values_list("user_id", flat=True)
        )
    # A conditional decrement for all of them: two messages racing for a last consent cannot both get it.
    return consent_sql.take_one_each(user_ids, spec.template_id, now)


def do_refund_consent(*, user_id: int, template_id: str) -> None:
    """Give back a consent set aside for a message that WeChat never delivered (and did not spend)."""
    SubscribeConsent.objects.filter(user_id=user_id, template_id=template_id).update(
        remaining=F("remaining") + 1, updated_at=timezone.now()
    )


def do_spend_all_consents(*, user_id: int, template_id: str) -> None:
    """WeChat says the user has none left (43101) or turned the template off: our count was wrong."""
    SubscribeConsent.objects.filter(user_id=user_id, template_id=template_id).update(
        remaining=0, long_term_active=False, updated_at=timezone.now()
    )


# ---- consents ----------------------------------------------------------------------

CONSENT_RESULTS = ("accept", "reject", "ban", "filter")


def do_record_consent_results(
    *,
    actor: Any,
    results: dict[str, str],
    source: str = ConsentGrant.Source.CLIENT,
    dedupe_key_prefix: str | None = None,
) -> list[SubscribeConsent]:
    """Record what wx.requestSubscribeMessage (or WeChat's popup push) said per template.

    accept → one more unused consent (or long-term on); reject → long-term off (one-time
    consents already granted stay valid); ban/filter → WeChat will refuse: none left.
    A push carries `dedupe_key_prefix` so that a retried push counts once.
    """
    touched: list[SubscribeConsent] = []
    with transaction.atomic():
        for template_id, result in results.items():
            consent = _locked_consent(actor.pk, template_id)
            if result == "accept":
                if is_long_term(template_id):
                    consent.long_term_active = True
                    consent.save(update_fields=["long_term_active", "updated_at"])
                else:
                    dedupe_key = f"{dedupe_key_prefix}:{template_id}" if dedupe_key_prefix else None
                    _grant_one(consent, source, dedupe_key)
            elif result == "reject":
                if consent.long_term_active:
                    consent.long_term_active = False
                    consent.save(update_fields=["long_term_active", "updated_at"])
            else:
                consent.remaining = 0
                consent.long_term_active = False
                consent.save(update_fields=["remaining", "long_term_active", "updated_at"])
            touched.append(consent)
    return touched


def _locked_consent(user_id: int, template_id: str) -> SubscribeConsent:
    try:
        with transaction.atomic():
            SubscribeConsent.objects.get_or_create(user_id=user_id, template_id=template_id)
    except IntegrityError:  # created by a concurrent request between get and create
        pass
    return SubscribeConsent.objects.select_for_update().get(user_id=user_id, template_id=template_id)


def _grant_one(consent: SubscribeConsent, source: str, dedupe_key: str | None) -> None:
    """Call holding the consent row's lock (it serializes grants for this user and template)."""
    if dedupe_key and ConsentGrant.objects.filter(dedupe_key=dedupe_key).exists():
        return  # WeChat retried a push we already counted
    other = ConsentGrant.Source.PUSH if source == ConsentGrant.Source.CLIENT else ConsentGrant.Source.CLIENT
    twin = (
        ConsentGrant.objects.filter(
            user_id=consent.user_id,
            template_id=consent.template_id,
            source=other,
            matched=False,
            created_at__gte=timezone.now() - CONSENT_MATCH_WINDOW,
        )
        .order_by("created_at", "id")
        .first()
    )
    if twin is not None:
        # The same tap, reported by the other side: already counted.
        ConsentGrant.objects.filter(pk=twin.pk).update(matched=True)
        ConsentGrant.objects.create(
            user_id=consent.user_id, template_id=consent.template_id, source=source, dedupe_key=dedupe_key, matched=True
        )
        return
    ConsentGrant.objects.create(
        user_id=consent.user_id, template_id=consent.template_id, source=source, dedupe_key=dedupe_key
    )
    consent.remaining += 1
    consent.save(update_fields=["remaining", "updated_at"])


def do_turn_off_consents(*, actor: Any, template_ids: Iterable[str]) -> None:
    """subscribe_msg_change_event: the user (`actor`) switched these templates off in WeChat's settings."""
    for template_id in template_ids:
        do_spend_all_consents(user_id=actor.pk, template_id=template_id)


# ---- inbox -------------------------------------------------------------------------


def do_mark_notification_read(*, notification: Notification, actor: Any) -> Notification:
    """Mark one of the actor's notifications read (the view checked access). Repeating is harmless."""
    now = timezone.now()
    with transaction.atomic():
        # Conditional: a second tap (or another device) does not move read_at.
        changed = Notification.objects.filter(pk=notification.pk, recipient=actor, read_at__isnull=True).update(read_at=now)
        if changed:
            publish_on_commit(f"user.{actor.pk}", "notification.read", {"notification_ids": [notification.pk]})
    notification.refresh_from_db(fields=["read_at"])
    return notification


def do_mark_all_notifications_read(*, actor: Any) -> int:
    now = timezone.now()
    with transaction.atomic():
        changed = Notification.objects.filter(recipient=actor, read_at__isnull=True).update(read_at=now)
        if changed:
            publish_on_commit(f"user.{actor.pk}", "notification.read", {"all": True})
    return changed
