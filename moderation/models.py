"""The moderation lifecycle every piece of resident text goes through, written once.

    written ──check_text──▶ published            (pass)
                        ├─▶ pending_review       (review, or no openid: staff decide)
                        ├─▶ pending_check        (WeChat unreachable: the re-check sweep asks again)
                        └─▶ nothing saved        (risky: 400 content_rejected)
    pending_check ──sweep──▶ published / pending_review / removed
    pending_review ──staff──▶ published / hidden / removed
    published ──staff or N reports──▶ hidden ──staff──▶ published / removed

The status strings are moderation.content's verdict strings, so a verdict is stored as is.
`Moderated` is the abstract model the feed's posts and comments and 议事's topics and replies
plug into: the two lifecycle fields every one of them keeps, the transition table and the
check against it. Each app keeps its own status field (its name is `MODERATION_STATUS_FIELD`)
and its own `TextChoices` labels; services' notes and rating comments, which only ever hold
the check's outcome, plug into the re-check sweep alone (moderation/recheck.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from django.db import models

from moderation.content import PENDING_CHECK, PENDING_REVIEW, PUBLISHED

HIDDEN = "hidden"
REMOVED = "removed"
DELETED = "deleted"  # by its author (the feed); final like removed

# Which status may follow which; the app's action checks this under a row lock.
CONTENT_TRANSITIONS: Mapping[str, frozenset[str]] = {
    PENDING_CHECK: frozenset({PUBLISHED, PENDING_REVIEW, REMOVED}),
    PENDING_REVIEW: frozenset({PUBLISHED, HIDDEN, REMOVED}),
    PUBLISHED: frozenset(
        {
            HIDDEN,
            REMOVED,
            PENDING_REVIEW,  # an edit WeChat wants reviewed
            PENDING_CHECK,  # an edit while WeChat is unreachable
        }
    ),
    HIDDEN: frozenset({PUBLISHED, REMOVED}),
    REMOVED: frozenset(),
}


def author_may_delete(transitions: Mapping[str, frozenset[str]]) -> dict[str, frozenset[str]]:
    """The same table where the author may also delete their own text from any live status."""
    table = {status: moves | {DELETED} if moves else moves for status, moves in transitions.items()}
    table[DELETED] = frozenset()
    return table


class Moderated(models.Model):
    """Abstract: resident text that is public only once the content check or staff passed it."""

    # WeChat's trace id of the verdict that decided (empty while none has).
    content_trace_id = models.CharField(max_length=64, blank=True)
    # Hidden because enough residents reported it, until staff look (a staff hide leaves it False).
    hidden_by_reports = models.BooleanField("因举报隐藏", default=False)

    # The name of the subclass's status field, and its transition table.
    MODERATION_STATUS_FIELD: ClassVar[str] = "content_status"
    MODERATION_TRANSITIONS: ClassVar[Mapping[str, frozenset[str]]] = CONTENT_TRANSITIONS

    class Meta:
        abstract = True

    @property
    def moderation_status(self) -> str:
        return getattr(self, self.MODERATION_STATUS_FIELD)

    @property
    def is_published(self) -> bool:
        return self.moderation_status == PUBLISHED

    def can_moderate_to(self, status: str) -> bool:
        return status in self.MODERATION_TRANSITIONS.get(self.moderation_status, frozenset())
