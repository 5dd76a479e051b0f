"""The 发帖必响应 backfill (community 0005): posts that owe an answer get the default deadline in
one UPDATE, and those more than a week past it are marked escalated so the first sweep after
the deploy does not send the street years of old posts."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from tests import factories as f

BEFORE = [("community", "0004_post_author_pending")]
AFTER = [("community", "0005_post_answer_deadline")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_backfill_sets_deadlines_and_quiets_the_long_overdue(neighborhood):
    author = f.UserFactory()
    now = timezone.now()
    try:
        old = _migrate(BEFORE)
        Post = old.get_model("community", "Post")
        seq = iter(range(1, 50))

        def post(age: timedelta, *, needs_answer=True, answered=False) -> int:
            created = now - age
            row = Post.objects.create(
                region_id=neighborhood.pk, author_id=author.pk, body="旧帖", section="neighbors", status="published",
                needs_answer=needs_answer, answered_at=created + timedelta(hours=1) if answered else None,
                created_at=created, author_day=date(2026, 1, 1), author_day_seq=next(seq),
            )
            return row.pk

        recent = post(timedelta(hours=2))
        late = post(timedelta(days=3))
        ancient = post(timedelta(days=30))
        ancient_answered = post(timedelta(days=30), answered=True)
        notice = post(timedelta(days=30), needs_answer=False)

        new = _migrate(AFTER)
        rows = {
            r["id"]: r
            for r in new.get_model("community", "Post").objects.values(
                "id", "created_at", "answer_due_at", "answer_escalated_at"
            )
        }
        for pk in (recent, late, ancient, ancient_answered):
            assert rows[pk]["answer_due_at"] == rows[pk]["created_at"] + timedelta(hours=24)
        assert rows[notice]["answer_due_at"] is None
        assert rows[recent]["answer_escalated_at"] is None and rows[late]["answer_escalated_at"] is None
        assert rows[ancient]["answer_escalated_at"] is not None
        assert rows[ancient_answered]["answer_escalated_at"] is None and rows[notice]["answer_escalated_at"] is None
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes("community"))
