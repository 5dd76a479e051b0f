"""Content security for user text: WeChat's msgSecCheck v2, shared by every app that publishes
what residents write (the feed's posts and comments, 议事 topics and replies).

The verdict decides the status a row is born with, and nothing is public until a check said pass:

- pass → `published`;
- review → `pending_review` (a person decides);
- risky → `InvalidInput("content_rejected")`: the caller saves nothing;
- WeChat unreachable or over quota → `pending_check`: the app's task asks again later.

The three status strings are the values each app's own content-status choices use for these
states (community.models.ContentStatus, deliberation.models.ContentStatus), so a verdict can be
stored as is. Call `check_text` *before* opening a transaction: a network call must not hold
row locks.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.errors import InvalidInput

logger = logging.getLogger(__name__)

SCENE_PROFILE = 1
SCENE_COMMENT = 2
SCENE_FORUM = 3
SCENE_SOCIAL_LOG = 4

PUBLISHED = "published"
PENDING_REVIEW = "pending_review"
PENDING_CHECK = "pending_check"

# msgSecCheck takes at most 2500 characters of content per call.
MAX_CHECK_CHARS = 2500
_SEVERITY = {PUBLISHED: 0, PENDING_CHECK: 1, PENDING_REVIEW: 2}


@dataclass(frozen=True)
class TextCheck:
    status: str  # PUBLISHED | PENDING_REVIEW | PENDING_CHECK
    trace_id: str = ""


def _pieces(content: str) -> list[str]:
    if len(content) <= MAX_CHECK_CHARS:
        return [content]
    return [content[i : i + MAX_CHECK_CHARS] for i in range(0, len(content), MAX_CHECK_CHARS)]


def check_text(*, user: Any, content: str, scene: int, title: str | None = None) -> TextCheck:
    """Ask msgSecCheck v2 about user text (longer text piece by piece; the worst verdict wins).

    risky → InvalidInput content_rejected; review → pending_review; unreachable → pending_check.
    """
    from wechat import client as wechat_client
    from wechat.errors import WeChatError, WeChatQuotaExceeded, WeChatUnavailable

    if not getattr(user, "openid", ""):
        # msgSecCheck needs the author's openid; without one a person has to look.
        return TextCheck(PENDING_REVIEW)
    worst, trace_id = PUBLISHED, ""
    for i, piece in enumerate(_pieces(content)):
        try:
            verdict = wechat_client.check_text(
                openid=user.openid, content=piece, scene=scene, title=title if i == 0 else None
            )
        except (WeChatUnavailable, WeChatQuotaExceeded):
            return TextCheck(PENDING_CHECK)
        except WeChatError as exc:
            # WeChat refused the request itself (bad openid, ...): retrying will not help, a moderator decides.
            logger.warning("msgSecCheck refused the request: %s", exc)
            return TextCheck(PENDING_REVIEW)
        if verdict.suggest == "risky":
            raise InvalidInput("content_rejected", "内容包含违规信息，无法发布", label=verdict.label)
        status = PENDING_REVIEW if verdict.suggest == "review" else PUBLISHED
        if not trace_id or _SEVERITY[status] > _SEVERITY[worst]:
            trace_id = verdict.trace_id  # the trace of the verdict that decided
        worst = max(worst, status, key=_SEVERITY.__getitem__)
    return TextCheck(worst, trace_id)


def recheck_text(*, user: Any, content: str, scene: int, title: str | None = None) -> TextCheck | None:
    """The late check of text saved while WeChat was unreachable: None means risky (remove it)."""
    try:
        return check_text(user=user, content=content, scene=scene, title=title)
    except InvalidInput:
        return None


def schedule_recheck(task: Any, *, delay_setting: str = "CONTENT_RECHECK_DELAY_SECONDS", default: int = 60) -> None:
    """After commit, ask the worker to run `task` (an app's re-check sweep) soon; a periodic
    sweep catches anything this misses."""
    backend = task.get_backend()
    if not backend.supports_defer:
        return  # the immediate backend (tests) would re-ask WeChat in the same breath
    delay = timedelta(seconds=int(getattr(settings, delay_setting, default)))
    transaction.on_commit(lambda: task.using(run_after=timezone.now() + delay).enqueue())
