"""Filing and following matters as a partner system: keys and their scope, bad input, the
same checks as a resident's report, the filters, and no resident's personal data."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from cases.models import Case, CaseEvent
from matters.models import Matter
from open311.keys import hash_key
from open311.models import PartnerKey, PartnerRequest
from tests.conftest import Api
from tests.matters.conftest import created
from tests.open311.conftest import georeport_error, get, post_request


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.content[:500]
    return [r["service_request_id"] for r in json.loads(response.content)]


# Keys


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_missing_or_unknown_key_is_401(world, fmt):
    georeport_error(post_request(None, fmt, service_code=world.repair.pk), 401, "api_key_required", fmt)
    georeport_error(post_request("o311_not-a-key", fmt, service_code=world.repair.pk), 401, "api_key_invalid", fmt)
    georeport_error(get(f"/open311/v2/requests.{fmt}"), 401, "api_key_required", fmt)
    assert not Matter.objects.exists()


def test_an_inactive_key_is_refused(world, keys):
    georeport_error(post_request(keys.inactive, service_code=world.repair.pk), 403, "api_key_inactive")
    georeport_error(get("/open311/v2/requests.json", api_key=keys.inactive), 403, "api_key_inactive")


def test_a_read_only_key_may_not_file(world, keys):
    georeport_error(post_request(keys.reader, service_code=world.repair.pk), 403, "filing_not_allowed")
    assert not Matter.objects.exists()


def test_only_the_keyed_hash_is_stored(world, keys):
    key = PartnerKey.objects.get(name="宝山12345平台")
    assert key.key_hash == hash_key(keys.platform) and keys.platform not in (key.key_hash, key.key_prefix)
    assert keys.platform.startswith(key.key_prefix)


def test_create_open311_key_prints_the_key_once(world):
    out = StringIO()
    call_command("create_open311_key", "城运中心", "--region", world.street.code, "--may-file", stdout=out)
    raw = next(line.split(": ", 1)[1] for line in out.getvalue().splitlines() if line.startswith("api_key: "))
    key = PartnerKey.objects.get(name="城运中心")
    assert key.may_file and list(key.regions.all()) == [world.street] and key.key_hash == hash_key(raw)
    assert post_request(raw, service_code=world.repair.pk).status_code == 201


# Scope


def test_a_region_outside_the_keys_scope_is_403(world, keys):
    # The point lies in 宝林一村's box; the key covers only the other street.
    georeport_error(post_request(keys.other, service_code=world.repair.pk), 403, "region_out_of_scope")
    # Named by address, no point.
    georeport_error(post_request(keys.other, service_code=world.repair.pk, lat=None, long=None), 403, "region_out_of_scope")
    assert not Matter.objects.exists()


def test_a_partner_reads_only_its_scope(world, keys):
    mine = created(Api(world.reporter), world.repair)["id"]  # 宝林一村, published
    assert _ids(get("/open311/v2/requests.json", api_key=keys.reader)) == [mine]
    assert _ids(get("/open311/v2/requests.json", api_key=keys.other)) == []
    georeport_error(get(f"/open311/v2/requests/{mine}.json", api_key=keys.other), 404, "request_not_found")


# Bad input


@pytest.mark.parametrize("lat,long", [("abc", "121.445"), ("31.345", "NaN"), ("95", "121.445"), ("31.345", "181"),
                                      ("31.345", None), ("1e400", "121.445")])
def test_malformed_lat_long_is_400(world, keys, lat, long):
    description = georeport_error(post_request(keys.platform, service_code=world.repair.pk, lat=lat, long=long), 400,
                                  "invalid_input")
    assert "(lat)" in description or "(long)" in description
    assert not Matter.objects.exists()


def test_bad_service_code_and_missing_fields_are_400(world, keys):
    georeport_error(post_request(keys.platform), 400, "service_code_required")
    georeport_error(post_request(keys.platform, service_code="999999"), 400, "unknown_service_code")
    georeport_error(post_request(keys.platform, service_code="abc"), 400, "unknown_service_code")
    georeport_error(post_request(keys.platform, service_code=world.repair.pk, description=""), 400, "description_required")
    georeport_error(post_request(keys.platform, service_code=world.repair.pk, lat=None, long=None, address_string=None),
                    400, "location_required")


def test_a_point_outside_the_neighborhood_is_422_as_for_residents(world, keys):
    # Named 宝林一村 by address, but the point lies outside its box.
    georeport_error(post_request(keys.platform, service_code=world.repair.pk, lat="31.400000"), 422, "location_out_of_region")


def test_a_category_without_a_unit_is_422_as_for_residents(world, keys):
    georeport_error(post_request(keys.platform, service_code=world.unrouted.pk), 422, "no_responsible_unit")


def test_a_place_no_neighborhood_claims_is_422(world, keys):
    georeport_error(post_request(keys.platform, service_code=world.repair.pk, lat="31.500000", long="121.500000",
                                 address_string="某路某号"), 422, "neighborhood_not_located")


def test_filing_is_throttled(world, keys, settings):
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {**rates, "open311": "2/min"}}
    for _ in range(2):
        assert post_request(keys.platform, service_code=world.repair.pk).status_code == 201
    refused = post_request(keys.platform, service_code=world.repair.pk)
    georeport_error(refused, 429, "rate_limited")
    assert refused["Retry-After"]
    assert Matter.objects.count() == 2
    assert get("/open311/v2/requests.json", api_key=keys.platform).status_code == 200  # reads are not counted


# The same matter as a resident's


def test_a_filed_request_is_a_matter_routed_like_a_residents(world, keys):
    body = json.loads(post_request(keys.platform, service_code=world.parking.pk, address_string="宝林一村3号楼消防通道").content)
    matter = Matter.objects.select_related("case").get(pk=body[0]["service_request_id"])
    assert matter.case.unit == world.urban and matter.case.status == Case.Status.SUBMITTED
    assert matter.reporter is None and matter.neighborhood == world.neighborhood
    assert PartnerRequest.objects.get(matter=matter).key.name == "宝山12345平台"
    # Without a resident's openid WeChat cannot check the text: a person looks first.
    assert matter.text_status == Matter.TextStatus.PENDING_REVIEW
    event = CaseEvent.objects.get(case=matter.case)
    assert event.kind == "submitted" and event.actor is None
    assert event.reason == "由合作系统「宝山12345平台」通过 Open311 提交"
    # The unit works it as any other: it is in its queue, and its timeline names the filer.
    detail = Api(world.urban_worker).get(f"/api/v1/matters/{matter.pk}").json()
    assert detail["reporter_name"] is None and detail["timeline"][0]["reason"] == event.reason
    assert Api(world.urban_worker).get("/api/v1/notifications").json()["results"][0]["kind"] == "case_assigned"


def test_the_neighborhood_comes_from_the_address_when_there_is_no_point(world, keys):
    # 违章停车 is routed at the street, so 宝林二村 (no rules of its own) has a unit too.
    body = json.loads(post_request(keys.platform, service_code=world.parking.pk, lat=None, long=None,
                                   address_string="宝林二村7号楼").content)
    matter = Matter.objects.select_related("case").get(pk=body[0]["service_request_id"])
    assert matter.case.unit == world.urban and matter.neighborhood == world.sister and matter.place == "宝林二村7号楼" and matter.latitude is None


# Filters


def test_status_filter(world, keys):
    open_id = created(Api(world.reporter), world.repair)["id"]
    answered_id = created(Api(world.reporter), world.parking, place="3号楼消防通道")["id"]
    worker = Api(world.urban_worker)
    assert worker.post(f"/api/v1/matters/{answered_id}/accept").status_code == 200
    assert worker.post(f"/api/v1/matters/{answered_id}/resolve", {"answer": "已清理"}).status_code == 200
    url = "/open311/v2/requests.json"
    assert _ids(get(url, api_key=keys.reader, status="open")) == [open_id]
    assert _ids(get(url, api_key=keys.reader, status="closed")) == [answered_id]
    assert _ids(get(url, api_key=keys.reader, status="open,closed")) == [answered_id, open_id]
    closed = json.loads(get(url, api_key=keys.reader, status="closed").content)[0]
    assert closed["status_notes"] == "已答复：已清理" and closed["expected_datetime"] is None
    georeport_error(get(url, api_key=keys.reader, status="pending"), 400, "invalid_input")


def test_id_code_and_date_filters(world, keys):
    first = created(Api(world.reporter), world.repair)["id"]
    second = created(Api(world.reporter), world.parking, place="3号楼消防通道")["id"]
    url = "/open311/v2/requests.json"
    assert _ids(get(url, api_key=keys.reader, service_request_id=f"{first},{second}")) == [second, first]
    assert _ids(get(url, api_key=keys.reader, service_request_id=str(first), service_code=str(world.parking.pk))) == [first]
    assert _ids(get(url, api_key=keys.reader, service_code=str(world.parking.pk))) == [second]
    assert _ids(get(url, api_key=keys.reader, start_date="2000-01-01T00:00:00+08:00", end_date="2000-12-31T00:00:00Z")) == []
    assert _ids(get(url, api_key=keys.reader, start_date="2000-01-01T00:00:00+08:00")) == [second, first]
    georeport_error(get(url, api_key=keys.reader, start_date="yesterday"), 400, "invalid_input")
    georeport_error(get(url, api_key=keys.reader, service_request_id="1;2"), 400, "invalid_input")


def test_lists_run_a_fixed_number_of_queries(world, keys, django_assert_max_num_queries):
    for i in range(5):
        created(Api(world.reporter), world.repair, place=f"{i}号楼", insist=True)
    with django_assert_max_num_queries(6):
        assert len(_ids(get("/open311/v2/requests.json", api_key=keys.reader))) == 5


# Personal data


def test_no_residents_personal_data_in_any_answer(world, keys):
    world.reporter.phone = "13912345678"
    world.reporter.save(update_fields=["phone"])
    matter_id = created(Api(world.reporter), world.repair)["id"]
    Api(world.neighbor).post(f"/api/v1/matters/{matter_id}/plus-one")
    for fmt in ("json", "xml"):
        for path in (f"/open311/v2/requests.{fmt}", f"/open311/v2/requests/{matter_id}.{fmt}"):
            text = get(path, api_key=keys.reader).content.decode()
            assert str(matter_id) in text
            for personal in ("张三", "李四", "13912345678", world.reporter.openid, "31.345", "121.445"):
                assert personal not in text, (personal, path)


# Not there


def test_unknown_paths_are_404_in_the_specs_shape(world):
    georeport_error(get("/open311/v2/tokens/abc.xml"), 404, "not_found", "xml")
    georeport_error(get("/open311/v2/requests.csv"), 404, "not_found")
