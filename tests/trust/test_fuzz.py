"""Fuzzing: schemathesis drives every operation in /api/schema/ as a resident and as staff.

No response may be a 5xx, and every response with a documented status must match the
schema (body and content type). Bounded examples per operation keep CI fast; raise
FUZZ_MAX_EXAMPLES locally for a deeper run.
"""

from __future__ import annotations

import os

import pytest

# A plain import: schemathesis is pinned in requirements-dev.txt, and a fuzz suite that
# skipped when it failed to import would quietly stop fuzzing.
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from residents.models import Role, User
from tests import factories as f

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "10"))
# Same examples on every CI run (no flaky reds); FUZZ_RANDOM=1 explores new ones locally.
DERANDOMIZE = not os.environ.get("FUZZ_RANDOM")
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
# Operations that end the session they are fuzzed with; each has its own tests.
SKIP = {("DELETE", "/api/v1/me"), ("POST", "/api/v1/auth/logout")}

# WeChat calls (login, phone binding, QR codes) go to the local stand-in over real HTTP.
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=False)]


def _persona(openid: str, make) -> User:
    return User.objects.filter(openid=openid).first() or make(openid)


def _resident(openid: str) -> User:
    neighborhood = f.NeighborhoodFactory()
    user = f.resident(neighborhood, openid=openid, phone="13800000001")
    f.BeneficiaryFactory(owner=user, neighborhood=neighborhood)
    return user


def _staff(openid: str) -> User:
    user = f.UserFactory(openid=openid)
    f.RoleFactory(user=user, region=f.NeighborhoodFactory(), kind=Role.Kind.COMMITTEE_STAFF)
    return user


def _check_for(operation, user: User, label: str, failures: list[str], calls: list[int]):
    # Built per operation (not a default argument): hypothesis refuses @given functions with
    # extra defaulted parameters, and the error used to be swallowed, so nothing was fuzzed.
    @settings(
        max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=DERANDOMIZE,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def check(case):
        calls.append(1)
        # A fresh token per example: some operations (logout, ban) end a session.
        headers = {"Authorization": f"Bearer {f.token_for(user)}"}
        try:
            case.call_and_validate(headers=headers, checks=CHECKS)
        except (Exception, BaseExceptionGroup) as exc:  # collect every operation's failure, fail once
            failures.append(f"{label}: {str(exc)[:1500]}")
            raise

    return check


def _run(user: User) -> list[str]:
    from django.core import signals
    from django.core.management import call_command
    from django.db import close_old_connections

    try:
        call_command("load_demo", verbosity=0)
    except Exception:  # the demo is a convenience here; factories cover what it lacks
        pass
    app = get_wsgi_application()
    # The WSGI handler closes the connection around each request; the test's transaction
    # lives on that connection (Django's test client disconnects these signals too).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        schema = schemathesis.openapi.from_wsgi("/api/schema/", app)
        failures: list[str] = []
        calls: list[int] = []
        operations = 0
        for result in schema.get_all_operations():
            operation = result.ok()
            method = operation.method.upper()
            if (method, operation.path) in SKIP or (method, schema.base_path.rstrip("/") + operation.path) in SKIP:
                continue
            operations += 1
            label = f"{method} {operation.path}"
            try:
                _check_for(operation, user, label, failures, calls)()
            except (Exception, BaseExceptionGroup) as exc:
                if not any(item.startswith(label + ":") for item in failures):
                    failures.append(f"{label}: harness error {exc!r}"[:1500])
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
    # The harness itself must have run: a fuzz test that fuzzes nothing passes forever.
    assert operations > 50, operations
    assert len(calls) >= operations, (len(calls), operations)
    return failures


def test_resident_fuzzing_finds_no_5xx_and_no_schema_violation(wechat_standin):
    failures = _run(_persona("zhangsan", _resident))
    assert not failures, "\n\n".join(dict.fromkeys(failures))


def test_staff_fuzzing_finds_no_5xx_and_no_schema_violation(wechat_standin):
    failures = _run(_persona("chenjuwei", _staff))
    assert not failures, "\n\n".join(dict.fromkeys(failures))
