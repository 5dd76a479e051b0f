"""core.insert.insert_one writes the row save() writes, with SQL made once per model."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from core.insert import insert_one
from core.models import IdempotencyRecord
from tests import factories as f


def _record(user, key: str) -> IdempotencyRecord:
    return IdempotencyRecord(
        user=user, key=key, scope="POST /api/v1/service-requests", fingerprint="ab" * 32, status_code=201,
        response_body={"id": 7, "item": {"name": "助餐送餐"}, "extra": {"diet": "低盐"}, "photos": [], "ok": True},
    )


def test_the_row_is_the_one_save_writes(db):
    user = f.UserFactory()
    saved = _record(user, "by-save")
    saved.save()
    inserted = _record(user, "by-insert")
    insert_one(inserted)
    assert inserted.pk and inserted.pk != saved.pk and not inserted._state.adding

    def columns(pk):
        row = IdempotencyRecord.objects.filter(pk=pk).values().get()
        return {k: v for k, v in row.items() if k not in ("id", "key", "created_at")}

    assert columns(inserted.pk) == columns(saved.pk)
    assert IdempotencyRecord.objects.get(pk=inserted.pk).created_at == inserted.created_at


def test_a_duplicate_key_is_refused_like_the_orm_refuses_it(db):
    user = f.UserFactory()
    insert_one(_record(user, "k"))
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_one(_record(user, "k"))
    assert IdempotencyRecord.objects.filter(user=user, key="k").count() == 1
