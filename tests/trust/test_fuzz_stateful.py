"""Stateful fuzzing: schemathesis follows the schema's OpenAPI links (config/openapi_links.py)
as a resident, as committee staff and as a street officer.

Where tests/trust/test_fuzz.py sends each operation random ids that mostly 404, this one
creates a post, a service request, a topic or a membership and then reads, moves, rates,
comments on and reports that very object. No response may be a 5xx, and every documented
response must match the schema. Bounded (FUZZ_STATEFUL_EXAMPLES scenarios of at most
FUZZ_STATEFUL_STEPS calls per persona) to about a minute; derandomized in CI.
"""

from __future__ import annotations

import os

import pytest

# A plain import: schemathesis is pinned in requirements-dev.txt, and a fuzz suite that
# skipped when it failed to import would quietly stop fuzzing.
import schemathesis
from django.core.wsgi import get_wsgi_application
from django.db import transaction
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from config.openapi_links import LINKS
from residents.models import User
from tests import factories as f

EXAMPLES = int(os.environ.get("FUZZ_STATEFUL_EXAMPLES", "20"))
STEPS = int(os.environ.get("FUZZ_STATEFUL_STEPS", "10"))
DERANDOMIZE = not os.environ.get("FUZZ_RANDOM")
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
# Operations that end the session they are fuzzed with; each has its own tests.
SKIP = {("DELETE", "/api/v1/me"), ("POST", "/api/v1/auth/logout")}

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=False)]


@pytest.fixture
def schema(wechat_standin):
    from django.core import signals
    from django.core.management import call_command
    from django.db import close_old_connections

    call_command("load_demo", verbosity=0)
    # The WSGI handler closes the connection around each request; the test's transaction
    # lives on that connection (Django's test client disconnects these signals too).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        loaded = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
        _seed_valid_creates(loaded)
        yield loaded.exclude(
            func=lambda ctx: (ctx.operation.method.upper(), ctx.operation.path) in SKIP
        )
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def _seed_valid_creates(loaded) -> None:
    """Random bodies almost never create anything (a post needs a real neighborhood, a request
    a real catalog item), and without a 201 there is no link to follow. So half the bodies of
    the link sources are a valid one for the demo's 宝林一村; test_fuzz.py keeps the rest random."""
    from hypothesis import strategies as st

    from residents.models import Region
    from services.models import ServiceItem

    neighborhood = Region.objects.get(name="宝林一村居委会").pk
    item = ServiceItem.objects.get(code="clean-home").pk
    enums = loaded.raw_schema["components"]["schemas"]
    section = enums["SectionEnum"]["enum"][0] if "SectionEnum" in enums else "neighbor"
    category = enums["CategoryEnum"]["enum"][0]
    valid = {
        ("POST", "/posts"): {"neighborhood_id": neighborhood, "section": section, "title": "楼道灯坏了", "body": "3号楼二层楼道灯不亮"},
        ("POST", "/service-requests"): {"item": item},
        ("POST", "/topics"): {"neighborhood": neighborhood, "category": category, "title": "加装电梯", "body": "5号楼想加装电梯，大家怎么看"},
        ("POST", "/memberships"): {"neighborhood": neighborhood, "building": "5号楼", "room": "302"},
        ("POST", "/posts/{post_id}/comments"): {"body": "收到，谢谢"},
    }

    @loaded.hook
    def flatmap_body(context, body):
        path = context.operation.path.removeprefix("/api/v1")
        good = valid.get((context.operation.method.upper(), path))
        return st.just(body) if good is None else st.sampled_from([dict(good), body])


def _fresh_cache() -> None:
    from django.core.cache import cache

    from core.ratelimit import reset_local

    cache.clear()
    reset_local()


def _run_as(schema, openid: str, *, derandomize: bool = DERANDOMIZE) -> tuple[list[tuple[str, str, int]], list[str]]:
    user = User.objects.get(openid=openid)
    calls: list[tuple[str, str, int]] = []
    failures: list[str] = []

    class AsPersona(schema.as_state_machine()):
        # Each scenario starts from the same database and cache: Hypothesis replays a known prefix
        # of choices and requires the same draws, and which links (rules) are enabled depends on
        # the responses. Rows or throttle counters left by an earlier scenario (a duplicate that
        # is now 409, a 21st post that is now 429) made the same prefix draw differently:
        # FlakyStrategyDefinition. A savepoint per scenario, rolled back at its end, removes that.
        def setup(self):
            self._scenario = transaction.atomic()
            self._scenario.__enter__()
            _fresh_cache()

        def teardown(self):
            transaction.set_rollback(True)
            self._scenario.__exit__(None, None, None)
            super().teardown()

        def get_call_kwargs(self, case):
            # A fresh token per call: a scenario may log itself out or be banned.
            return {"headers": {"Authorization": f"Bearer {f.token_for(user)}"}}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            calls.append((case.method.upper(), case.operation.path, response.status_code))
            try:
                case.validate_response(response, checks=CHECKS)
            except (Exception, BaseExceptionGroup) as exc:
                failures.append(f"{openid} {case.method} {case.path}: {str(exc)[:1500]}")
                raise

    try:
        AsPersona.run(
            settings=settings(
                max_examples=EXAMPLES,
                stateful_step_count=STEPS,
                deadline=None,
                database=None,
                derandomize=derandomize,
                suppress_health_check=list(HealthCheck),
            )
        )
    except (Exception, BaseExceptionGroup) as exc:
        if not failures:
            failures.append(f"{openid}: harness error {exc!r}"[:1500])
    return calls, failures


def test_the_schema_carries_every_link_of_the_table(schema):
    """A renamed operation would silently drop its links, and the stateful run with them."""
    raw = schema.raw_schema
    operation_ids = {
        operation["operationId"]
        for path_item in raw["paths"].values()
        for operation in path_item.values()
        if isinstance(operation, dict) and "operationId" in operation
    }
    named = {source for source, _ in LINKS} | {
        target for links in LINKS.values() for target, _ in links.values()
    }
    assert named <= operation_ids, sorted(named - operation_ids)
    links = {
        name
        for path_item in raw["paths"].values()
        for operation in path_item.values()
        if isinstance(operation, dict)
        for response in operation.get("responses", {}).values()
        for name in response.get("links", {})
    }
    assert {"GetPost", "MoveServiceRequest", "GetTopic", "DecideMembership"} <= links


@pytest.mark.parametrize("openid", ["zhangsan", "chenjuwei", "liujiedao"])
def test_stateful_fuzzing_finds_no_5xx_and_no_schema_violation(schema, openid):
    calls, failures = _run_as(schema, openid)
    # The derandomized run's draws depend on the whole schema: one more documented response
    # anywhere can leave a persona's 20 scenarios without a create whose link it then follows.
    # Then up to four random runs more, so the run still ends having gone through links
    # (and whatever any run finds fails the test). Two were not always enough: CI once saw
    # three runs of the street officer's in a row follow no link (a run follows one about
    # nine times in ten here), and a random run costs some fifteen seconds.
    for _ in range(4):
        if failures or _followed(calls):
            break
        more_calls, failures = _run_as(schema, openid, derandomize=False)
        calls += more_calls
    assert not failures, "\n\n".join(dict.fromkeys(failures))
    # The harness itself ran: a fuzz test that calls nothing passes for ever. And it went
    # through links: an object this persona created was then found at its own {id}.
    assert len(calls) >= EXAMPLES, len(calls)
    followed = _followed(calls)
    assert followed, sorted({(m, p, s) for m, p, s in calls})[:40]
    created = sorted({(m, p) for m, p, status in calls if m == "POST" and status == 201 and "{" not in p})
    print(openid, len(calls), "calls; created:", created, ";", len(followed), "operations on an {id} answered 2xx:", sorted(followed)[:12])


def _followed(calls: list[tuple[str, str, int]]) -> set[tuple[str, str]]:
    """Operations on an {id} that answered 2xx: links the run went through."""
    return {(method, path) for method, path, status in calls if "{" in path and 200 <= status < 300}
