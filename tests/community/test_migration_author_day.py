"""The daily-slot backfill (community 0002) numbers existing posts per author and Shanghai day,
in creation order, in one statement (a row-by-row loop took hours on a district's posts)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests import factories as f

BEFORE = [("community", "0001_initial")]
AFTER = [("community", "0002_post_author_day")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_backfill_numbers_posts_per_author_and_shanghai_day(neighborhood):
    alice, bob = f.UserFactory(), f.UserFactory()
    try:
        old = _migrate(BEFORE)
        Post = old.get_model("community", "Post")

        def post(author, at: datetime) -> int:
            row = Post.objects.create(region_id=neighborhood.pk, author_id=author.pk, body="旧帖", section="chat")
            Post.objects.filter(pk=row.pk).update(created_at=at)  # auto_now_add ignores a given value
            return row.pk

        # 2026-03-01 15:59 UTC is 23:59 in Shanghai; 16:00 UTC is the next Shanghai day.
        a1 = post(alice, datetime(2026, 3, 1, 2, 0, tzinfo=UTC))
        a3 = post(alice, datetime(2026, 3, 1, 15, 59, tzinfo=UTC))
        a2 = post(alice, datetime(2026, 3, 1, 9, 0, tzinfo=UTC))  # made later, created earlier
        a_next = post(alice, datetime(2026, 3, 1, 16, 0, tzinfo=UTC))
        b1 = post(bob, datetime(2026, 3, 1, 9, 0, tzinfo=UTC))

        new = _migrate(AFTER)
        rows = {
            r["id"]: (r["author_day"], r["author_day_seq"])
            for r in new.get_model("community", "Post").objects.values("id", "author_day", "author_day_seq")
        }
        assert rows == {
            a1: (date(2026, 3, 1), 1),
            a2: (date(2026, 3, 1), 2),
            a3: (date(2026, 3, 1), 3),
            a_next: (date(2026, 3, 2), 1),
            b1: (date(2026, 3, 1), 1),
        }
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes("community"))
