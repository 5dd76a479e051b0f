"""The framework-ceiling endpoint the load harness compares every real endpoint with."""

import pytest
from django.conf import settings

from tests import factories as f
from tests.conftest import assert_error

CEILING = "/api/v1/bench/ceiling"


def test_ceiling_is_not_mounted_by_default(db, anon):
    assert settings.BENCH is False
    assert_error(anon.get(CEILING), 404, "not_found")


@pytest.mark.urls("tests.scale.urls_with_bench")
def test_ceiling_authenticates_the_bearer_token_like_a_real_endpoint(db, anon, api_for, neighborhood):
    assert_error(anon.get(CEILING), 401)
    resident = f.resident(neighborhood)
    response = api_for(resident).get(CEILING)
    assert response.status_code == 200
    assert response.json() == {"ok": True, "results": [], "next_cursor": None}


@pytest.mark.urls("tests.scale.urls_with_bench")
def test_ceiling_post_parses_the_body_and_rejects_malformed_json(db, api_for, neighborhood):
    client = api_for(f.resident(neighborhood))
    assert client.post(CEILING, {"category": 1}).status_code == 201
    assert_error(client.raw_post(CEILING, b"{not json"), 400)
