"""A matter's create is the hottest write of 一键表达: its statements are counted, so a query
per row (the kind's label, page and frame id read back one at a time; a second UPDATE of the
case) does not creep back. bench/README.md (issue 17) has the figures."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from notifications.models import Event
from tests.conftest import Api
from tests.matters.conftest import LAT, LNG


def _create_statements(api: Api, item, key: str) -> list[str]:
    body = {"item": item.pk, "text": "5号楼门口路灯坏了", "place": key, "latitude": LAT, "longitude": LNG, "insist": True}
    with CaptureQueriesContext(connection) as ctx:
        response = api.post("/api/v1/matters", body, headers={"Idempotency-Key": key})
    assert response.status_code == 201, response.content[:300]
    # The test's own transaction turns the create's into a savepoint; in service it is a BEGIN.
    return [q["sql"] for q in ctx.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]


def test_a_create_is_a_fixed_number_of_statements_with_one_write_of_each_row(world, standin):
    api = Api(world.reporter)
    _create_statements(api, world.repair, "warm-up")  # the token's last_used_at write happens once a minute
    statements = _create_statements(api, world.repair, "one")
    writes = [s.split(" (")[0].split(" SET")[0] for s in statements if s.startswith(("INSERT", "UPDATE"))]
    # The case with its deadline (no UPDATE after), its timeline row, the matter, the Idempotency-Key
    # record with the answer (no claim first), the push task; on PostgreSQL the inbox rows and
    # every frame in one statement (notifications.inbox_sql), elsewhere the ORM's two.
    assert not any(w.startswith("UPDATE") for w in writes), writes
    assert len(statements) == (19 if connection.vendor == "postgresql" else 20), statements
    frames = Event.objects.filter(type="case.created").values_list("stream", flat=True)
    assert f"unit.{world.property.pk}" in frames and f"staff.neighborhood.{world.neighborhood.pk}" in frames
