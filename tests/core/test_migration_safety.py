"""The migration linter (core/migration_safety.py) over every migration of ours, and proof it bites.

Grandfathering, by rule rather than by a list of names: the linter arrived on 2026-12-02, and
every migration numbered up to what each app had that day — on main or on a branch then in
flight (console 0005, core 0007, open311 0002, services 0010, cases 0004, sensors 0001) — is
taken as it is. They were written before the linter and have run on every database there is;
rewriting them would change nothing on a database that already has them. The findings they
carry today are listed by running `findings()` without this cut-off: the NOT NULL columns
added without `db_default` (community, services, deliberation, residents, cases, open311),
the indexes built in place on posts, service requests and matters (community 0004/0005,
services 0004/0007/0010, matters 0002) and the idempotency column retyped (core 0005).
Everything numbered after is linted; an app not listed here is linted from 0001 (its initial
migration creates empty tables and is exempt as such).
"""

from __future__ import annotations

import re

import pytest
from django.db import connection, migrations, models
from django.db.migrations.loader import MigrationLoader
from django.test.utils import CaptureQueriesContext

from core import migration_operations, migration_safety
from core.project import project_apps

GRANDFATHERED_UP_TO = {
    "cases": 4,
    "community": 6,
    "console": 5,
    "core": 7,
    "deliberation": 5,
    "images": 1,
    "matters": 2,
    "moderation": 0,
    "notifications": 4,
    "open311": 2,
    "residents": 3,
    "sensors": 1,
    "services": 10,
}


def _ours() -> set[str]:
    """Our apps (core.project), bench aside."""
    return {c.label for c in project_apps() if c.label != "bench"}


def _number(name: str) -> int:
    match = re.match(r"(\d+)_", name)
    return int(match.group(1)) if match else 0


def _grandfathered(finding: migration_safety.Finding) -> bool:
    return _number(finding.migration) <= GRANDFATHERED_UP_TO.get(finding.app, 0)


def test_no_migration_locks_a_big_table_or_breaks_the_running_release():
    refused = [str(f) for f in migration_safety.findings(_ours()) if not _grandfathered(f)]
    assert refused == [], (
        "migrations that would stop a district or break the release still running during the deploy "
        "(docs/deployment.md, 'Migrations'):\n" + "\n".join(refused)
    )


def test_the_linted_apps_are_ours_and_only_ours():
    ours = _ours()
    assert {"community", "services", "cases", "matters", "notifications", "residents", "core"} <= ours
    assert not ours & {"admin", "auth", "contenttypes", "sessions", "django_tasks_database"}


def test_the_grandfathered_migrations_do_carry_findings():
    """The cut-off is not decoration: without it the linter refuses what was written before it."""
    old = {f.key for f in migration_safety.findings(_ours()) if _grandfathered(f)}
    assert ("community", "0005_post_answer_deadline") in old
    assert ("services", "0004_text_check") in old


# --- the linter on migrations made up here, against today's project state ------------------


def _lint(*operations, atomic=True, waivers=None, app="community"):
    state = MigrationLoader(None, ignore_no_migrations=True).project_state()
    attrs = {"operations": list(operations), "atomic": atomic}
    if waivers is not None:
        attrs["safety_waivers"] = waivers
    migration_class = type("Migration", (migrations.Migration,), attrs)
    migration = migration_class("9999_probe", app)
    return sorted({f.code for f in migration_safety.lint_migration(migration, state)})


INDEX = models.Index(fields=["created_at"], name="probe_post_created")


@pytest.mark.parametrize(
    ("operations", "atomic", "codes"),
    [
        ([migrations.AddIndex("post", INDEX)], True, ["index_locks_big_table"]),
        ([migration_operations.AddIndexConcurrently("post", INDEX)], True, ["concurrent_in_transaction"]),
        ([migration_operations.AddIndexConcurrently("post", INDEX)], False, []),
        ([migrations.RemoveIndex("post", "post_author_recent")], True, ["rewrite_locks_big_table"]),
        ([migration_operations.RemoveIndexConcurrently("post", "post_author_recent")], False, []),
        ([migrations.AddField("post", "probe", models.CharField(max_length=8, default=""))], True, ["not_null_without_db_default"]),
        ([migrations.AddField("post", "probe", models.CharField(max_length=8, db_default=""))], True, []),
        ([migrations.AddField("post", "probe", models.CharField(max_length=8, null=True, db_index=True))], True, ["index_locks_big_table"]),
        ([migrations.AddField("mute", "probe", models.CharField(max_length=8, null=True, db_index=True))], True, []),
        ([migrations.AlterField("post", "body", models.CharField(max_length=10))], True, ["rewrite_locks_big_table"]),
        ([migrations.RemoveField("post", "body")], True, ["breaks_running_release"]),
        ([migrations.RenameField("post", "body", "text")], True, ["breaks_running_release"]),
        ([migrations.DeleteModel("mute")], True, ["breaks_running_release"]),
        (
            [migrations.AddConstraint("post", models.CheckConstraint(condition=models.Q(id__gt=0), name="probe_positive"))],
            True,
            ["constraint_locks_big_table"],
        ),
        ([migrations.RunSQL("CREATE INDEX probe ON community_post (created_at)")], True, ["index_locks_big_table"]),
        ([migrations.RunSQL("CREATE INDEX CONCURRENTLY probe ON community_post (created_at)")], False, []),
        ([migrations.RunSQL("ALTER TABLE community_post ADD COLUMN probe int")], True, ["rewrite_locks_big_table"]),
        (
            [
                migrations.CreateModel("Probe", [("id", models.BigAutoField(primary_key=True)), ("at", models.DateTimeField())]),
                migrations.AddIndex("probe", models.Index(fields=["at"], name="probe_at")),
                migrations.AddField("probe", "n", models.IntegerField(default=0)),
            ],
            True,
            [],
        ),
        (
            [migrations.SeparateDatabaseAndState(state_operations=[migrations.RemoveField("post", "body")])],
            True,
            [],
        ),
    ],
    ids=lambda v: "" if not isinstance(v, list) or not v or not hasattr(v[0], "describe") else v[0].describe()[:50],
)
def test_the_linter_refuses_what_locks_or_breaks_and_passes_what_does_not(operations, atomic, codes):
    assert _lint(*operations, atomic=atomic) == codes


def test_a_waiver_with_a_reason_lets_one_finding_through_and_an_empty_one_is_refused():
    drop = migrations.RemoveField("post", "body")
    assert _lint(drop, waivers={"breaks_running_release": "the release before stopped reading post.body"}) == []
    assert _lint(drop, waivers={"breaks_running_release": " "}) == ["bad_waiver"]
    assert _lint(drop, waivers={"no_such_check": "because"}) == ["bad_waiver", "breaks_running_release"]


def test_only_the_apps_asked_for_are_linted():
    """Third-party apps (django_tasks_database, contenttypes) drop columns in their own way."""
    assert migration_safety.findings(set()) == []
    assert any(f.app == "community" for f in migration_safety.findings({"community"}))


# --- the concurrent operation on the database this run has -----------------------------------


@pytest.mark.django_db(transaction=True)
def test_add_index_concurrently_builds_without_the_write_lock_on_postgresql_and_plainly_elsewhere():
    loader = MigrationLoader(connection)
    from_state = loader.project_state()
    operation = migration_operations.AddIndexConcurrently("post", models.Index(fields=["created_at", "id"], name="probe_post_conc"))
    to_state = from_state.clone()
    operation.state_forwards("community", to_state)
    with CaptureQueriesContext(connection) as queries:
        with connection.schema_editor(atomic=False) as editor:
            operation.database_forwards("community", editor, from_state, to_state)
    try:
        created = [q["sql"] for q in queries if "probe_post_conc" in q["sql"]]
        assert created, "no CREATE INDEX ran"
        if connection.vendor == "postgresql":
            assert "CREATE INDEX CONCURRENTLY" in created[0]
        else:
            assert "CONCURRENTLY" not in created[0]
        with connection.cursor() as cursor:
            constraints = connection.introspection.get_constraints(cursor, "community_post")
        assert "probe_post_conc" in constraints
    finally:
        with connection.schema_editor(atomic=False) as editor:
            operation.database_backwards("community", editor, to_state, from_state)
    with connection.cursor() as cursor:
        assert "probe_post_conc" not in connection.introspection.get_constraints(cursor, "community_post")
