"""Idempotency-Key on POST requests, media_url both ways, and errors that keep their status in
the spec's shape."""

from __future__ import annotations

import json
from datetime import timedelta
from xml.etree import ElementTree as ET

import pytest
from django.test import override_settings

from images.models import Image
from matters.models import Matter, MatterPhoto
from open311.models import PartnerRequest
from tests.community.conftest import make_image
from tests.conftest import Api
from tests.matters.conftest import created
from tests.open311.conftest import client, georeport_error, get, post_request


def _filed_id(response) -> int:
    assert response.status_code == 201, response.content
    return json.loads(response.content)[0]["service_request_id"]


# Idempotency-Key


def test_a_repeat_with_the_same_key_answers_the_first_filing(world, keys):
    first = post_request(keys.platform, service_code=world.repair.pk, headers={"Idempotency-Key": "12345-0001"})
    again = post_request(keys.platform, service_code=world.repair.pk, headers={"Idempotency-Key": "12345-0001"})
    assert _filed_id(again) == _filed_id(first) and again["Idempotent-Replayed"] == "true"
    assert json.loads(again.content) == json.loads(first.content)
    assert Matter.objects.count() == 1
    # In XML too (the same record, the other dress).
    xml = post_request(keys.platform, "xml", service_code=world.repair.pk, headers={"Idempotency-Key": "12345-0001"})
    assert xml.status_code == 201 and ET.fromstring(xml.content)[0].findtext("service_request_id") == str(_filed_id(first))
    assert Matter.objects.count() == 1


def test_without_a_key_each_post_files(world, keys):
    post_request(keys.platform, service_code=world.repair.pk)
    post_request(keys.platform, service_code=world.repair.pk)
    assert Matter.objects.count() == 2


def test_a_key_reused_for_another_form_is_422(world, keys):
    _filed_id(post_request(keys.platform, service_code=world.repair.pk, headers={"Idempotency-Key": "k1"}))
    response = post_request(keys.platform, service_code=world.repair.pk, description="另一件事", headers={"Idempotency-Key": "k1"})
    georeport_error(response, 422, "idempotency_key_reused")
    assert Matter.objects.count() == 1


def test_keys_are_per_partner(world, keys):
    from open311.keys import do_create_partner_key

    _, second = do_create_partner_key(name="城运中心", regions=[world.street], may_file=True)
    a = _filed_id(post_request(keys.platform, service_code=world.repair.pk, headers={"Idempotency-Key": "same"}))
    b = _filed_id(post_request(second, service_code=world.repair.pk, headers={"Idempotency-Key": "same"}))
    assert a != b


def test_an_error_is_not_remembered(world, keys):
    georeport_error(post_request(keys.platform, service_code=world.repair.pk, description="",
                                 headers={"Idempotency-Key": "k2"}), 400, "description_required")
    _filed_id(post_request(keys.platform, service_code=world.repair.pk, headers={"Idempotency-Key": "k2"}))


def test_after_the_window_the_key_files_anew(world, keys):
    first = _filed_id(post_request(keys.platform, service_code=world.repair.pk, headers={"Idempotency-Key": "k3"}))
    PartnerRequest.objects.filter(matter_id=first).update(created_at=PartnerRequest.objects.get().created_at - timedelta(hours=25))
    second = _filed_id(post_request(keys.platform, service_code=world.repair.pk, headers={"Idempotency-Key": "k3"}))
    assert second != first
    assert PartnerRequest.objects.get(matter_id=first).idempotency_key is None


def test_a_malformed_key_is_400(world, keys):
    georeport_error(post_request(keys.platform, "xml", service_code=world.repair.pk, headers={"Idempotency-Key": "x" * 129}),
                    400, "invalid_idempotency_key", "xml")
    assert not Matter.objects.exists()


# media_url


@pytest.mark.parametrize("url", ["http://city.gov.s3.amazonaws.com/requests/media/638344.jpg",
                                 "http://127.0.0.1:8000/media/images/x.jpg"])
def test_a_media_url_is_refused_not_fetched(world, keys, url):
    description = georeport_error(post_request(keys.platform, service_code=world.repair.pk, media_url=url), 400,
                                  "media_url_not_supported")
    assert description.endswith("(media_url)")
    assert not Matter.objects.exists()
    _filed_id(post_request(keys.platform, service_code=world.repair.pk, media_url=""))  # empty: as if absent


@override_settings(PUBLIC_BASE_URL="https://shequ.example.cn")
def test_media_url_is_the_first_passed_photo_as_a_project_url(world, keys):
    pending = make_image(world.reporter, status=Image.Status.CHECKING)
    first = make_image(world.reporter)
    first.file = "images/2026/12/first.jpg"
    first.save(update_fields=["file"])
    second = make_image(world.reporter)
    matter_id = created(Api(world.reporter), world.repair, photos=[pending.pk, first.pk, second.pk])["id"]
    request = json.loads(get(f"/open311/v2/requests/{matter_id}.json", api_key=keys.reader).content)[0]
    assert request["media_url"] == "https://shequ.example.cn/media/images/2026/12/first.jpg"
    root = ET.fromstring(get(f"/open311/v2/requests/{matter_id}.xml", api_key=keys.reader).content)
    assert root[0].findtext("media_url") == request["media_url"]
    # No passed photo: null (a picture still in WeChat's check is nobody's to see but the reporter's).
    MatterPhoto.objects.filter(matter_id=matter_id).exclude(image=pending).delete()
    assert json.loads(get("/open311/v2/requests.json", api_key=keys.reader).content)[0]["media_url"] is None


# Errors keep their status


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_method_and_body_errors_keep_their_status(world, keys, fmt):
    georeport_error(client().put(f"/open311/v2/requests.{fmt}"), 405, "method_not_allowed", fmt)
    georeport_error(client().delete(f"/open311/v2/services.{fmt}"), 405, "method_not_allowed", fmt)
    response = client().generic("POST", f"/open311/v2/requests.{fmt}?api_key={keys.platform}", b"{not json",
                                content_type="application/json")
    georeport_error(response, 400, "malformed_request", fmt)
    response = client().generic("POST", f"/open311/v2/requests.{fmt}?api_key={keys.platform}", b"x",
                                content_type="text/csv")
    georeport_error(response, 415, "unsupported_media_type", fmt)
