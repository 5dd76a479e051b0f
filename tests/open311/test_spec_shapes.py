"""Each endpoint in JSON and XML against the GeoReport v2 spec's example documents
(tests/open311/spec_examples.py): the same root and item elements, the same field names."""

from __future__ import annotations

import json
from datetime import datetime
from xml.etree import ElementTree as ET

from tests.open311 import spec_examples as spec
from tests.open311.conftest import get, post_request


def test_services_json_has_the_specs_fields(world):
    response = get("/open311/v2/services.json")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/json")
    services = json.loads(response.content)
    assert {s["service_name"] for s in services} == {"路灯不亮", "占用消防通道", "其他问题"}
    for service in services:
        assert set(service) == spec.json_fields(spec.SERVICES_JSON)
        assert service["metadata"] is False and service["type"] == "realtime"
    lamp = next(s for s in services if s["service_name"] == "路灯不亮")
    assert lamp == {
        "service_code": str(world.repair.pk), "service_name": "路灯不亮",
        "description": "设施报修·路灯不亮：受理时限 12 小时，办结时限 72 小时", "metadata": False, "type": "realtime",
        "keywords": "设施报修, 路灯不亮", "group": "设施报修",
    }


def test_services_xml_has_the_specs_elements(world):
    response = get("/open311/v2/services.xml")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/xml")
    assert response.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    assert spec.xml_shape(response.content) == spec.xml_shape(spec.SERVICES_XML)
    root = ET.fromstring(response.content)
    assert len(root) == 3 and {s.findtext("metadata") for s in root} == {"false"}
    assert root[0].findtext("group") == "设施报修"


def test_post_answers_as_the_spec_in_json(world, keys):
    response = post_request(keys.platform, service_code=world.repair.pk)
    assert response.status_code == 201, response.content
    body = json.loads(response.content)
    assert len(body) == 1 and set(body[0]) == spec.json_fields(spec.POST_JSON)
    assert isinstance(body[0]["service_request_id"], int) and body[0]["account_id"] is None
    assert body[0]["service_notice"] == "已交「宝林一村物业」办理：12 小时内受理，72 小时内办结"


def test_post_answers_as_the_spec_in_xml(world, keys):
    response = post_request(keys.platform, "xml", service_code=world.repair.pk)
    assert response.status_code == 201, response.content
    assert spec.xml_shape(response.content) == spec.xml_shape(spec.POST_XML)
    request = ET.fromstring(response.content)[0]
    assert request.findtext("service_request_id").isdigit() and request.find("account_id").text is None


def _filed(world, keys) -> int:
    return json.loads(post_request(keys.platform, service_code=world.repair.pk).content)[0]["service_request_id"]


def test_request_list_json_has_the_specs_fields(world, keys):
    request_id = _filed(world, keys)
    response = get("/open311/v2/requests.json", api_key=keys.platform)
    assert response.status_code == 200
    requests = json.loads(response.content)
    assert [r["service_request_id"] for r in requests] == [request_id]
    request = requests[0]
    assert set(request) == spec.json_fields(spec.REQUESTS_JSON)
    assert request["status"] == "open" and request["service_code"] == str(world.repair.pk)
    assert request["agency_responsible"] == "宝林一村物业" and request["address"] == "宝林一村3号楼"
    assert request["lat"] == 31.345 and request["long"] == 121.445  # the partner's own point
    for field in ("requested_datetime", "updated_datetime", "expected_datetime"):
        assert request[field].endswith("+08:00"), request[field]
        datetime.fromisoformat(request[field])
    assert request["address_id"] is None and request["zipcode"] is None and request["media_url"] is None


def test_request_list_and_one_request_xml_have_the_specs_elements(world, keys):
    request_id = _filed(world, keys)
    for path in ("/open311/v2/requests.xml", f"/open311/v2/requests/{request_id}.xml"):
        response = get(path, api_key=keys.platform)
        assert response.status_code == 200 and response["Content-Type"].startswith("text/xml")
        assert spec.xml_shape(response.content) == spec.xml_shape(spec.REQUESTS_XML)
        root = ET.fromstring(response.content)
        assert len(root) == 1 and root[0].findtext("service_request_id") == str(request_id)
        # The spec's order of elements, too.
        assert [c.tag for c in root[0]] == [c.tag for c in ET.fromstring(spec.REQUESTS_XML.encode())[0]]


def test_one_request_json(world, keys):
    request_id = _filed(world, keys)
    response = get(f"/open311/v2/requests/{request_id}.json", api_key=keys.platform)
    body = json.loads(response.content)
    assert len(body) == 1 and set(body[0]) == spec.json_fields(spec.REQUESTS_JSON)
    assert body[0]["service_request_id"] == request_id


def test_errors_have_the_specs_shape_in_both_formats(world, keys):
    json_error = json.loads(post_request("wrong", service_code=world.repair.pk).content)
    assert set(json_error[0]) == spec.json_fields(spec.ERRORS_JSON)
    xml_error = post_request(keys.reader, "xml", service_code=world.repair.pk).content
    assert spec.xml_shape(xml_error) == spec.xml_shape(spec.ERRORS_XML)
