"""One re-check sweep for every kind of text saved while WeChat was unreachable.

Each app says, in its `AppConfig.ready()`, which of its models hold checked text:
`register(name, Recheckable(...))` with the status field, what to send to msgSecCheck, and how
to apply a late verdict (under the app's own lock, with its own events). The periodic job
`moderation.tasks.recheck_pending_content` (registered in moderation/apps.py) walks them all;
an app that saves text as `pending_check` enqueues the same job after commit (`schedule`).

Nothing is public before a verdict: a late pass publishes, review holds the text for staff,
risky removes it (the app logs why). Safe to run twice at once: each `apply` re-reads the row
under a lock or updates it conditionally, so a staff decision taken meanwhile wins.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import models

from moderation.content import PENDING_CHECK, PUBLISHED, TextCheck, recheck_text, schedule_recheck
from moderation.models import REMOVED

# What `apply` reports; anything else ("skipped": moderated meanwhile) is not counted.
OUTCOMES = ("published", "review", "removed")


@dataclass(frozen=True)
class Recheckable:
    """One model whose rows carry a content-check status."""

    model: type[models.Model]
    status_field: str
    # The keyword arguments of moderation.content.check_text for a row: user, content, scene, title.
    text: Callable[[Any], dict[str, Any]]
    # Apply a late verdict (None = risky) to a row and say which outcome it was.
    apply: Callable[[Any, TextCheck | None], str]
    select_related: tuple[str, ...] = ()
    order_by: tuple[str, ...] = ("created_at",)


_REGISTRY: dict[str, Recheckable] = {}


def register(name: str, kind: Recheckable) -> None:
    """Add a kind of checked text (idempotent per name: ready() may run more than once in tests)."""
    _REGISTRY[name] = kind


def registered() -> dict[str, Recheckable]:
    return dict(_REGISTRY)


def outcome_of(check: TextCheck | None) -> str:
    if check is None:
        return "removed"
    return "published" if check.status == PUBLISHED else "review"


def conditional_update(kind_model: type[models.Model], status_field: str) -> Callable[[Any, TextCheck | None], str]:
    """An `apply` for text whose row holds nothing but the verdict (services' notes and rating
    comments): one UPDATE conditional on the row still being pending_check, so a staff decision
    taken meanwhile, or a second sweep at once, is never overwritten. Risky → removed."""

    def apply(item: Any, check: TextCheck | None) -> str:
        new_status = REMOVED if check is None else check.status
        moved = kind_model._default_manager.filter(pk=item.pk, **{status_field: PENDING_CHECK}).update(
            **{status_field: new_status}
        )
        return outcome_of(check) if moved else "skipped"

    return apply


def recheck_pending(*, names: Iterable[str] | None = None, limit: int = 100) -> dict[str, int]:
    """Ask WeChat again about up to `limit` waiting rows of each registered kind (or of `names`).

    Returns how many were published, held for review, removed, and are still waiting."""
    kinds = registered()
    chosen = [kinds[n] for n in names] if names is not None else list(kinds.values())
    done = {"published": 0, "review": 0, "removed": 0, "still_pending": 0}
    for kind in chosen:
        waiting = (
            kind.model._default_manager.filter(**{kind.status_field: PENDING_CHECK})
            .select_related(*kind.select_related)
            .order_by(*kind.order_by)[:limit]
        )
        for item in waiting:
            check = recheck_text(**kind.text(item))
            if check is not None and check.status == PENDING_CHECK:
                done["still_pending"] += 1
                continue
            outcome = kind.apply(item, check)
            if outcome in OUTCOMES:
                done[outcome] += 1
    return done


def schedule(*, delay_setting: str = "CONTENT_RECHECK_DELAY_SECONDS") -> None:
    """After commit, ask the worker to run the sweep soon (text was just saved as pending_check);
    the periodic run catches anything this misses."""
    from moderation.tasks import recheck_pending_content

    schedule_recheck(recheck_pending_content, delay_setting=delay_setting)

