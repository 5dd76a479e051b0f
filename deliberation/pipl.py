"""PIPL export and erasure for 议事: topics, replies, supports, ballots, evaluations (privacy/pipl.py).

Written by the trust engineer; deliberation owns the models, this file only reads and scrubs them.

Erasure rules:
- Topics and replies are public speech in a neighborhood's record: they stay, shown as
  "已注销用户" through the tombstoned author.
- Supports and evaluations stay counted (thresholds already crossed and published
  averages must not move), attached to the tombstone, which identifies nobody.
- Follows go (a private preference with no public effect).
- Reports (举报) stay counted (an item they hid stays hidden until staff review it); their
  free-text note goes, as in the feed.
- Ballots stay counted, and become unlinkable: each is moved to one shared "erased voters"
  account, and a per-person voter key (`u:<user id>`) is replaced by a random one, so no
  row joins a choice back to the erased account (or to its public posts). A household
  voter key is kept: it is a keyed hash of the household, not of the person, and during
  an open vote it is what stops the same household voting twice. The receipt hash stays,
  so a receipt code the voter kept still verifies; only the code's holder can use it.
"""

from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.utils import timezone

from deliberation.models import (
    Ballot,
    BallotMark,
    BallotRevision,
    Evaluation,
    Follow,
    Reply,
    Support,
    Topic,
    TopicReport,
)
from privacy.pipl import ERASED_NICKNAME, model_rows, register_eraser, register_exporter

ERASED_VOTERS_USERNAME = "erased_voters"


def export(user) -> dict:
    ballots = Ballot.objects.filter(user=user)
    marks: dict[int, list[str]] = {}
    for ballot_id, option in BallotMark.objects.filter(ballot__in=ballots).values_list("ballot_id", "option"):
        marks.setdefault(ballot_id, []).append(option)
    revisions: dict[int, int] = {}
    for ballot_id in BallotRevision.objects.filter(ballot__in=ballots).values_list("ballot_id", flat=True):
        revisions[ballot_id] = revisions.get(ballot_id, 0) + 1
    return {
        "topics": model_rows(Topic.objects.filter(author=user)),
        "replies": model_rows(Reply.objects.filter(author=user)),
        "supports": model_rows(Support.objects.filter(user=user), exclude=("household_key",)),
        "follows": model_rows(Follow.objects.filter(user=user)),
        # Their own choices (the topic page shows them the same), and whether a receipt
        # exists to verify it; the receipt code itself was never stored.
        "ballots": [
            {
                "topic_id": b.topic_id,
                "choices": sorted(marks.get(b.pk, [])),
                "cast_at": b.created_at,
                "updated_at": b.updated_at,
                "has_receipt": bool(b.receipt_hash),
                "times_changed": revisions.get(b.pk, 0),
            }
            for b in ballots.order_by("pk")
        ],
        "evaluations": model_rows(Evaluation.objects.filter(user=user)),
        "reports": model_rows(TopicReport.objects.filter(reporter=user)),
    }


def erased_voters_account():
    """The one account every erased person's ballots belong to: inactive, cannot log in."""
    User = get_user_model()
    account, created = User.objects.get_or_create(
        username=ERASED_VOTERS_USERNAME,
        defaults={"nickname": ERASED_NICKNAME, "is_active": False, "deleted_at": timezone.now()},
    )
    if created:
        account.set_unusable_password()
        account.save(update_fields=["password"])
    return account


def erase(user) -> None:
    Follow.objects.filter(user=user).delete()
    # As in the feed: the report still counts, its free-text note (never public) goes.
    TopicReport.objects.filter(reporter=user).update(note="")
    ballots = list(Ballot.objects.select_for_update().filter(user=user))
    if not ballots:
        return
    sink = erased_voters_account()
    personal_key = f"u:{user.pk}"
    for ballot in ballots:
        if ballot.voter_key == personal_key:
            ballot.voter_key = f"u:erased:{secrets.token_hex(8)}"
        # auto_now would stamp the erasure time: the ballot's own times are kept instead.
        Ballot.objects.filter(pk=ballot.pk).update(user=sink, voter_key=ballot.voter_key)


register_exporter("deliberation", export)
register_eraser("deliberation", erase)
