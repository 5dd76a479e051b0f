"""Sending the outbox through WeChat: claim, send, record. Safe with many workers at once.

A row moves pending → sending (claimed: a claim token and a lease) → a final status, or
back to pending with a later `next_attempt_at`. Claims are conditional UPDATEs (and
SELECT ... FOR UPDATE SKIP LOCKED where the database has it), so two workers never hold
one row. A worker that dies leaves its rows in `sending`; once the lease has passed they
are due again.

At most once, with one window: WeChat accepted the message and the worker died before
recording it. The row is then sent again after the lease; the log line
"sent, recording" marks the window.

Tests drive this directly with `deliver_due(now=...)`; in production the
`deliver_outbox_message` task (enqueued on commit by do_notify) and the
`deliver_outbox --loop` sweep call it.
"""

from __future__ import annotations

import logging
import random
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from notifications.actions import do_refund_consent, do_spend_all_consents
from notifications.models import ChannelPause, DeliveryAttempt, OutboxMessage
from wechat import client as wechat_client
from wechat.errors import (
    WeChatError,
    WeChatMisconfigured,
    WeChatNoConsent,
    WeChatQuotaExceeded,
    WeChatUnavailable,
)

logger = logging.getLogger(__name__)

SHANGHAI = ZoneInfo("Asia/Shanghai")
Status = OutboxMessage.Status
Outcome = DeliveryAttempt.Outcome


def _seconds(name: str, default: float) -> float:
    return float(getattr(settings, name, default))


def lease() -> timedelta:
    # Far longer than one WeChat call (WECHAT_TIMEOUT_SECONDS), so a live worker keeps its row.
    return timedelta(seconds=_seconds("NOTIFICATIONS_OUTBOX_LEASE_SECONDS", 120))


def backoff(attempts: int, retry_after: float = 0) -> timedelta:
    """Exponential, with "equal jitter" so that workers that failed together do not retry together."""
    base = _seconds("NOTIFICATIONS_OUTBOX_BACKOFF_BASE_SECONDS", 10)
    cap = _seconds("NOTIFICATIONS_OUTBOX_BACKOFF_MAX_SECONDS", 900)
    delay = min(cap, base * 2 ** max(0, attempts - 1))
    jittered = delay / 2 + random.uniform(0, delay / 2)
    return timedelta(seconds=max(jittered, retry_after))


def end_of_shanghai_day(now: datetime) -> datetime:
    """WeChat's daily quotas reset at midnight Beijing time."""
    local = now.astimezone(SHANGHAI)
    return datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=SHANGHAI)


def paused_until(now: datetime, channel: str = OutboxMessage.Channel.WECHAT) -> datetime | None:
    pause = ChannelPause.objects.filter(channel=channel, paused_until__gt=now).first()
    return pause.paused_until if pause else None


def pause_channel(until: datetime, reason: str, channel: str = OutboxMessage.Channel.WECHAT) -> None:
    ChannelPause.objects.update_or_create(channel=channel, defaults={"paused_until": until, "reason": reason[:200]})
    logger.warning("outbox: %s sending paused until %s (%s)", channel, until.isoformat(), reason)


@dataclass
class DeliveryReport:
    claimed: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    paused_until: datetime | None = None

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


def _due(now: datetime) -> Q:
    return Q(status=Status.PENDING, next_attempt_at__lte=now) | Q(status=Status.SENDING, lease_until__lt=now)


def claim(*, now: datetime, limit: int = 50, ids: Iterable[int] | None = None) -> list[OutboxMessage]:
    """Claim up to `limit` due rows for this worker. Returns the rows now held (status sending)."""
    token = secrets.token_hex(8)
    base = OutboxMessage.objects.filter(_due(now), channel=OutboxMessage.Channel.WECHAT)
    if ids is not None:
        base = base.filter(pk__in=list(ids))
    claim_values = {
        "status": Status.SENDING,
        "lease_until": now + lease(),
        "claim_token": token,
        "attempts": F("attempts") + 1,
    }
    if connection.features.has_select_for_update_skip_locked:
        with transaction.atomic():
            picked = list(
                base.select_for_update(skip_locked=True)
                .order_by("next_attempt_at", "id")
                .values_list("id", "status")[:limit]
            )
            OutboxMessage.objects.filter(pk__in=[pk for pk, _ in picked]).update(**claim_values)
    else:
        # SQLite has no row locks: claim each row with an UPDATE that re-checks it is still due;
        # a row another worker took meanwhile matches nothing.
        picked = []
        for pk, status in base.order_by("next_attempt_at", "id").values_list("id", "status")[:limit]:
            if OutboxMessage.objects.filter(_due(now), pk=pk).update(**claim_values):
                picked.append((pk, status))
    for pk, status in picked:
        if status == Status.SENDING:
            logger.warning(
                "outbox %s: reclaimed after its worker's lease ran out without an outcome; if WeChat "
                "accepted that try, the user gets this message twice", pk,
            )
    return list(OutboxMessage.objects.filter(pk__in=[pk for pk, _ in picked], claim_token=token).order_by("id"))


def _finish(message: OutboxMessage, *, now: datetime, **values) -> bool:
    """Write the outcome if this worker still holds the row."""
    updated = OutboxMessage.objects.filter(pk=message.pk, claim_token=message.claim_token, status=Status.SENDING).update(
        lease_until=None, **values
    )
    if not updated:
        logger.warning("outbox %s: lost the claim before recording (%s)", message.pk, values.get("status"))
    return bool(updated)


def _record(message: OutboxMessage, started: datetime, outcome: str, errcode: int | None = None, detail: str = "") -> None:
    DeliveryAttempt.objects.create(
        message=message, started_at=started, finished_at=timezone.now(), outcome=outcome, errcode=errcode,
        detail=detail[:300],
    )


def _release(messages: Iterable[OutboxMessage], at: datetime) -> None:
    """Hand claimed rows back untouched (not tried), due at `at`."""
    for message in messages:
        OutboxMessage.objects.filter(pk=message.pk, claim_token=message.claim_token, status=Status.SENDING).update(
            status=Status.PENDING, lease_until=None, next_attempt_at=at, attempts=F("attempts") - 1
        )


def send_one(message: OutboxMessage, *, now: datetime) -> str:
    """Try a claimed row once; record the outcome. Returns the attempt outcome."""
    started = timezone.now()
    try:
        msgid = wechat_client.send_subscribe_message(
            openid=message.openid,
            template_id=message.template_id,
            data=message.data,
            page=message.page or None,
            miniprogram_state=getattr(settings, "WECHAT_MINIPROGRAM_STATE", None) or None,
        )
    except WeChatQuotaExceeded as exc:
        until = end_of_shanghai_day(now)
        pause_channel(until, f"45009 {exc.errmsg}")
        # Nothing is dropped: the row waits for tomorrow with its consent still set aside.
        _finish(message, now=now, status=Status.PENDING, next_attempt_at=until, last_error="45009 daily quota")
        _record(message, started, Outcome.QUOTA, exc.errcode, exc.errmsg)
        return Outcome.QUOTA
    except WeChatNoConsent as exc:
        # WeChat's count is the truth: ours was wrong. Do not retry; the inbox entry stays.
        _finish(message, now=now, status=Status.NO_CONSENT, finished_at=now, last_error="43101 no consent")
        do_spend_all_consents(user_id=message.recipient_id, template_id=message.template_id)
        _record(message, started, Outcome.NO_CONSENT, exc.errcode, exc.errmsg)
        return Outcome.NO_CONSENT
    except (WeChatUnavailable, WeChatMisconfigured) as exc:
        # Misconfiguration (bad secret, IP whitelist) is fixed by an operator, then these go out.
        outcome = Outcome.UNAVAILABLE if isinstance(exc, WeChatUnavailable) else Outcome.ERROR
        error = f"{exc.errcode} {exc.errmsg}"[:300]
        if now >= message.deadline:
            if _finish(message, now=now, status=Status.EXPIRED, finished_at=now, last_error=error) and message.consent_reserved:
                do_refund_consent(user_id=message.recipient_id, template_id=message.template_id)
        else:
            delay = backoff(message.attempts, getattr(exc, "retry_after", 0))
            _finish(message, now=now, status=Status.PENDING, next_attempt_at=now + delay, last_error=error)
            schedule(message.pk, now + delay)
        _record(message, started, outcome, exc.errcode, exc.errmsg)
        return outcome
    except WeChatError as exc:
        # 40003/40037/47003/41030: WeChat refused this request; sending it again changes nothing.
        error = f"{exc.errcode} {exc.errmsg}"[:300]
        logger.error("outbox %s: WeChat refused the message: %s", message.pk, error)
        if _finish(message, now=now, status=Status.FAILED, finished_at=now, last_error=error) and message.consent_reserved:
            do_refund_consent(user_id=message.recipient_id, template_id=message.template_id)
        _record(message, started, Outcome.BAD_REQUEST, exc.errcode, exc.errmsg)
        return Outcome.BAD_REQUEST
    logger.info("outbox %s: sent, recording (msgid %s)", message.pk, msgid)
    _finish(message, now=now, status=Status.SENT, msgid=msgid[:64], finished_at=now, last_error="")
    _record(message, started, Outcome.SENT, 0, msgid)
    return Outcome.SENT


def _process(held: list[OutboxMessage], now: datetime, report: DeliveryReport) -> None:
    report.claimed += len(held)
    for index, message in enumerate(held):
        outcome = send_one(message, now=now)
        report.count(outcome)
        if outcome == Outcome.QUOTA:
            report.paused_until = end_of_shanghai_day(now)
            _release(held[index + 1 :], report.paused_until)
            return


def deliver_due(*, now: datetime | None = None, limit: int = 50) -> DeliveryReport:
    """Claim and send up to `limit` due messages. `now` lets tests move time."""
    now = now or timezone.now()
    report = DeliveryReport()
    pause = paused_until(now)
    if pause is not None:
        report.paused_until = pause
        return report
    _process(claim(now=now, limit=limit), now, report)
    return report


def deliver_ids(ids: Iterable[int], *, now: datetime | None = None) -> DeliveryReport:
    """Send these messages if they are due (what the task does); rows not due are left alone."""
    now = now or timezone.now()
    report = DeliveryReport()
    pause = paused_until(now)
    if pause is not None:
        report.paused_until = pause
        return report
    _process(claim(now=now, ids=ids, limit=1000), now, report)
    return report


def enqueue_delivery(ids: list[int]) -> None:
    """Run after commit by do_notify. A failure to enqueue loses nothing: the sweep finds the rows."""
    from notifications.tasks import deliver_outbox_messages

    try:
        deliver_outbox_messages.enqueue(list(ids))
    except Exception:
        logger.warning("outbox: could not enqueue delivery of %s; the sweep will", ids, exc_info=True)


def schedule(message_id: int, at: datetime) -> None:
    """Enqueue a retry for `at` where the task backend can defer; otherwise the sweep picks it up."""
    from django.tasks import default_task_backend

    from notifications.tasks import deliver_outbox_messages

    if not default_task_backend.supports_defer:
        return
    try:
        deliver_outbox_messages.using(run_after=at).enqueue([message_id])
    except Exception:
        logger.warning("outbox %s: could not schedule the retry; the sweep will", message_id, exc_info=True)


def sweep(*, now: datetime | None = None, grace_seconds: float = 30, limit: int = 500) -> list[int]:
    """Find rows whose delivery was lost (a dead worker, an enqueue that failed, a worker that was
    down) and enqueue them again. A row due for less than `grace_seconds` is left to its own task."""
    now = now or timezone.now()
    if paused_until(now) is not None:
        return []
    stale = now - timedelta(seconds=grace_seconds)
    expired = list(
        OutboxMessage.objects.filter(status=Status.SENDING, lease_until__lt=now).values_list("id", flat=True)[:limit]
    )
    for pk in expired:
        if OutboxMessage.objects.filter(pk=pk, status=Status.SENDING, lease_until__lt=now).update(
            # next_attempt_at still holds the time it was due when the dead worker claimed it.
            status=Status.PENDING, lease_until=None
        ):
            logger.warning(
                "outbox %s: its worker stopped before recording an outcome; retrying (if WeChat accepted "
                "the earlier try, the user gets it twice)", pk,
            )
    due = list(
        OutboxMessage.objects.filter(status=Status.PENDING)
        .filter(Q(next_attempt_at__lte=stale) | Q(pk__in=expired))
        .filter(Q(swept_at__isnull=True) | Q(swept_at__lte=stale))
        .values_list("id", flat=True)[:limit]
    )
    if due:
        # swept_at keeps a row that stays stuck (no worker running) from being enqueued on every pass.
        OutboxMessage.objects.filter(pk__in=due).update(swept_at=now)
        enqueue_delivery(due)
    return due
