"""At once, from their own threads and connections: a partner's POST racing its own retry with
the same Idempotency-Key files one matter; two staff deciding one held text make one decision."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from console.models import MatterTextReview
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


def test_two_staff_deciding_one_held_text_make_one_decision(world, keys):
    response = post_request(keys.platform, service_code=world.repair.pk)
    matter_id = json.loads(response.content)[0]["service_request_id"]
    clients = []
    for user in (world.staff, world.officer):
        client = Client()
        client.force_login(user)
        clients.append(client)
    url = f"/console/matters/review/{matter_id}/"
    race([
        lambda: clients[0].post(url, {"decision": "approve"}),
        lambda: clients[1].post(url, {"decision": "reject", "reason": "无关内容"}),
    ])
    log = MatterTextReview.objects.get()  # one decision, and the matter says what it decided
    assert Matter.objects.get(pk=matter_id).text_status == ("published" if log.decision == "approved" else "removed")
