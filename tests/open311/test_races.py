"""At once, from their own threads and connections: a partner's POST racing its own retry with
the same Idempotency-Key files one matter (the loser's transaction rolls back whole and answers
the winner's filing)."""

from __future__ import annotations

import json

import pytest

from matters.models import Matter
from open311.models import PartnerRequest
from tests.open311.conftest import post_request
from tests.races import race

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_post_racing_its_retry_files_one_matter(world, keys):
    responses = race([
        lambda: post_request(keys.platform, service_code=world.repair.pk, headers={"Idempotency-Key": "race-1"}),
        lambda: post_request(keys.platform, service_code=world.repair.pk, headers={"Idempotency-Key": "race-1"}),
    ])
    codes = [r.status_code for r in responses]
    assert set(codes) <= {201, 409} and 201 in codes, [r.content for r in responses]
    assert Matter.objects.count() == 1 and PartnerRequest.objects.count() == 1
    ids = {json.loads(r.content)[0]["service_request_id"] for r in responses if r.status_code == 201}
    assert ids == {Matter.objects.get().pk}

