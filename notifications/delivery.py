"""Sending the outbox through WeChat: claim, send, record. Safe with many workers at once.

A row moves pending → sending (claimed: a claim token and a lease) → a final status, or
back to pending with a later `next_attempt_at`. Claims are conditional UPDATEs (and
SELECT ... FOR UPDATE SKIP LOCKED where the database has it), so two workers never hold
one row.

At most once, without exception. subscribeMessage.send has no idempotency key, so a send
whose outcome we do not know is never repeated:

- just before the request leaves, `begin_attempt` commits `attempt_started_at`;
- a refused connection or a DNS failure (the request never left) goes back to pending;
- a read timeout, a dropped connection, an HTTP error page or garbage (the request left, no
  usable answer: WeChatOutcomeUnknown) is final as `unknown`;
- a worker that dies leaves its rows in `sending`; once the lease has passed, rows it never
  began are due again and the one it had begun becomes `unknown` (`settle_abandoned`).

An `unknown` row keeps its consent set aside (WeChat most likely spent it); the inbox entry
is there either way. `queries.outbox_status_counts()` and `deliver_outbox --stats` count them.

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
    WeChatOutcomeUnknown,
    WeChatQuotaExceeded,
    WeChatUnavailable,
)

logger = logging.getLogger(__name__)

SHANGHAI = ZoneInfo("Asia/Shanghai")
Status = OutboxMessage.Status
Outcome = DeliveryAttempt.Outcome
# Reported, never recorded: another worker took the row before this one began its send.
LOST_CLAIM = "lost_claim"


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
    # A lapsed claim is due again only if its worker never began the send (see settle_abandoned).
    return Q(status=Status.PENDING, next_attempt_at__lte=now) | Q(
        status=Status.SENDING, lease_until__lt=now, attempt_started_at__isnull=True
    )


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
            logger.warning("outbox %s: reclaimed after its worker's lease ran out before it began the send", pk)
    return list(OutboxMessage.objects.filter(pk__in=[pk for pk, _ in picked], claim_token=token).order_by("id"))


def begin_attempt(message: OutboxMessage) -> bool:
    """Record that this claimed row's request is about to leave. False if the claim is lost.

    Call outside any transaction (the task and `deliver_outbox --send` run in autocommit): the
    mark must be committed before the request leaves, or a killed worker would leave no trace
    that WeChat may have the message.
    """
    started = timezone.now()
    updated = OutboxMessage.objects.filter(
        pk=message.pk, claim_token=message.claim_token, status=Status.SENDING, attempt_started_at__isnull=True
    ).update(attempt_started_at=started)
    if updated:
        message.attempt_started_at = started
    return bool(updated)


def _finish(message: OutboxMessage, *, now: datetime, **values) -> bool:
    """Write the outcome if this worker still holds the row."""
    if values.get("status") == Status.PENDING:
        values["attempt_started_at"] = None  # the request never reached WeChat, or WeChat refused it
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
    if not begin_attempt(message):
        logger.warning("outbox %s: lost the claim before sending; not sent", message.pk)
        return LOST_CLAIM
    started = message.attempt_started_at or timezone.now()
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
    except WeChatOutcomeUnknown as exc:
        # The request left and no usable answer came: WeChat may have delivered it. Final.
        error = f"outcome unknown: {exc.errmsg}"[:300]
        _finish(message, now=now, status=Status.UNKNOWN, finished_at=now, last_error=error)
        _record(message, started, Outcome.UNKNOWN, exc.errcode, exc.errmsg)
        _log_unknown(message.pk, exc.errmsg)
        return Outcome.UNKNOWN
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


def _log_unknown(pk: int, why: str) -> None:
    # Ids and the transport's words only: no openid, no message text.
    logger.warning("outbox %s: outcome unknown (%s); not retried, the inbox has it", pk, why)


def settle_abandoned(*, now: datetime, limit: int = 500) -> list[int]:
    """Rows whose worker began the send and stopped before recording its outcome (the lease ran
    out): WeChat may have delivered them, so they become `unknown` and are never sent again."""
    abandoned = list(
        OutboxMessage.objects.filter(status=Status.SENDING, lease_until__lt=now, attempt_started_at__isnull=False)
        .values_list("id", "attempt_started_at")[:limit]
    )
    settled = []
    for pk, attempt_started_at in abandoned:
        # Conditional: a worker that answers late, or another sweep, may have got there first.
        if OutboxMessage.objects.filter(
            pk=pk, status=Status.SENDING, lease_until__lt=now, attempt_started_at__isnull=False
        ).update(status=Status.UNKNOWN, lease_until=None, finished_at=now, last_error="outcome unknown: worker stopped"):
            DeliveryAttempt.objects.create(
                message_id=pk, started_at=attempt_started_at, finished_at=now, outcome=Outcome.UNKNOWN,
                detail="worker stopped after the send began",
            )
            _log_unknown(pk, "worker stopped after the send began")
            settled.append(pk)
    return settled


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
    for _ in settle_abandoned(now=now):
        report.count(Outcome.UNKNOWN)
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


def enqueue_delivery(ids: list[int], *, urgent: bool = False) -> None:
    """Run after commit by do_notify. A failure to enqueue loses nothing: the sweep finds the rows.
    `urgent`: at the top task priority (workers take the highest priority first), ahead of
    routine sends already queued."""
    from django.tasks.base import TASK_MAX_PRIORITY

    from notifications.tasks import deliver_outbox_messages

    try:
        task = deliver_outbox_messages.using(priority=TASK_MAX_PRIORITY) if urgent else deliver_outbox_messages
        task.enqueue(list(ids))
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
    down) and enqueue them again. A row due for less than `grace_seconds` is left to its own task.
    A row whose dead worker had begun the send is settled as `unknown` instead (never re-sent)."""
    now = now or timezone.now()
    settle_abandoned(now=now, limit=limit)
    if paused_until(now) is not None:
        return []
    stale = now - timedelta(seconds=grace_seconds)
    never_begun = Q(status=Status.SENDING, lease_until__lt=now, attempt_started_at__isnull=True)
    expired = list(OutboxMessage.objects.filter(never_begun).values_list("id", flat=True)[:limit])
    for pk in expired:
        if OutboxMessage.objects.filter(never_begun, pk=pk).update(
            # next_attempt_at still holds the time it was due when the dead worker claimed it.
            status=Status.PENDING, lease_until=None
        ):
            logger.warning("outbox %s: its worker stopped before sending it; retrying", pk)
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
