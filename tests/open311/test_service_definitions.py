"""Service definitions (GET services/{code}) against the spec's example, and the attribute
answers a partner sends with POST requests: checked, stored, and shown to the unit."""

from __future__ import annotations

import json
from urllib.parse import urlencode
from xml.etree import ElementTree as ET

import pytest

from matters.models import Matter
from open311.models import PartnerRequest, ServiceAttribute
from tests.open311 import spec_examples as spec
from tests.open311.conftest import client, georeport_error, get


@pytest.fixture
def lamp_attributes(world):
    number = ServiceAttribute.objects.create(
        item=world.repair, code="lamp_no", description="路灯编号是多少？", datatype="string", required=True, order=1,
        datatype_description="灯杆上的编号，如 BL-0312",
    )
    where = ServiceAttribute.objects.create(
        item=world.repair, code="where", description="灯在哪里？", datatype="singlevaluelist", required=False, order=2,
        values=[{"key": "1", "name": "道路"}, {"key": "2", "name": "楼道"}],
    )
    also = ServiceAttribute.objects.create(
        item=world.repair, code="also", description="还有什么问题？", datatype="multivaluelist", order=3,
        values=[{"key": "a", "name": "灯杆倾斜"}, {"key": "b", "name": "电线外露"}],
    )
    ServiceAttribute.objects.create(item=world.repair, code="old", description="已停用", is_active=False, order=4)
    return number, where, also


def file(key: str, fmt: str = "json", pairs: list[tuple[str, str]] = (), **headers):
    body = [("api_key", key), ("description", "3号楼前路灯不亮"), ("lat", "31.345000"), ("long", "121.445000"),
            ("address_string", "宝林一村3号楼"), *pairs]
    return client().generic("POST", f"/open311/v2/requests.{fmt}", urlencode(body),
                            content_type="application/x-www-form-urlencoded", **headers)


def test_a_service_with_attributes_is_metadata_true(world, lamp_attributes):
    services = {s["service_name"]: s["metadata"] for s in json.loads(get("/open311/v2/services.json").content)}
    assert services == {"路灯不亮": True, "占用消防通道": False, "其他问题": False}
    root = ET.fromstring(get("/open311/v2/services.xml").content)
    assert {s.findtext("service_name"): s.findtext("metadata") for s in root}["路灯不亮"] == "true"


def test_the_definition_in_json_has_the_specs_fields(world, lamp_attributes):
    response = get(f"/open311/v2/services/{world.repair.pk}.json")
    assert response.status_code == 200, response.content
    body = json.loads(response.content)
    example = json.loads(spec.SERVICE_DEFINITION_JSON)
    assert set(body) == set(example) and body["service_code"] == str(world.repair.pk)
    assert [a["code"] for a in body["attributes"]] == ["lamp_no", "where", "also"]  # in order, active only
    for attribute in body["attributes"]:
        assert set(attribute) == set(example["attributes"][0])
        assert attribute["variable"] is True
    number, where, also = body["attributes"]
    assert number["required"] is True and number["datatype"] == "string" and number["values"] == []
    assert number["datatype_description"] == "灯杆上的编号，如 BL-0312" and number["order"] == 1
    assert where["datatype_description"] is None and where["required"] is False
    assert where["values"] == [{"key": "1", "name": "道路"}, {"key": "2", "name": "楼道"}]
    assert set(where["values"][0]) == set(example["attributes"][0]["values"][0])


def test_the_definition_in_xml_has_the_specs_elements(world, lamp_attributes):
    response = get(f"/open311/v2/services/{world.repair.pk}.xml")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/xml")
    assert spec.xml_tree(response.content) == spec.xml_tree(spec.SERVICE_DEFINITION_XML)
    root = ET.fromstring(response.content)
    attribute = root.find("attributes")[1]
    assert [c.tag for c in attribute] == [c.tag for c in ET.fromstring(spec.SERVICE_DEFINITION_XML.encode()).find("attributes")[0]]
    assert [v.findtext("name") for v in attribute.find("values")] == ["道路", "楼道"]
    assert attribute.findtext("required") == "false" and attribute.find("datatype_description").text is None


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_no_definition_and_unknown_codes_are_404(world, lamp_attributes, fmt):
    georeport_error(get(f"/open311/v2/services/{world.parking.pk}.{fmt}"), 404, "service_definition_not_available", fmt)
    georeport_error(get(f"/open311/v2/services/999999.{fmt}"), 404, "unknown_service_code", fmt)
    georeport_error(get(f"/open311/v2/services/abc.{fmt}"), 404, "unknown_service_code", fmt)


def test_attribute_answers_are_stored_and_written_for_the_unit(world, keys, lamp_attributes):
    response = file(keys.platform, pairs=[
        ("service_code", str(world.repair.pk)), ("attribute[lamp_no]", "BL-0312"), ("attribute[where]", "2"),
        ("attribute[also][]", "a"), ("attribute[also][]", "b"),
    ])
    assert response.status_code == 201, response.content
    matter = Matter.objects.get(pk=json.loads(response.content)[0]["service_request_id"])
    assert PartnerRequest.objects.get(matter=matter).attributes == {"lamp_no": "BL-0312", "where": "2", "also": ["a", "b"]}
    assert matter.text == "3号楼前路灯不亮\n\n路灯编号是多少？：BL-0312\n灯在哪里？：楼道\n还有什么问题？：灯杆倾斜、电线外露"


def test_attributes_in_a_json_body(world, keys, lamp_attributes):
    body = {"api_key": keys.platform, "service_code": str(world.repair.pk), "description": "路灯不亮",
            "address_string": "宝林一村3号楼", "attribute": {"lamp_no": "BL-1", "also": ["b"]}}
    response = client().post("/open311/v2/requests.json", body, format="json")
    assert response.status_code == 201, response.content
    assert PartnerRequest.objects.get().attributes == {"lamp_no": "BL-1", "also": ["b"]}


@pytest.mark.parametrize(("pairs", "code"), [
    ([], "attribute_required"),
    ([("attribute[lamp_no]", "  ")], "attribute_required"),
    ([("attribute[lamp_no]", "1"), ("attribute[where]", "9")], "invalid_attribute"),
    ([("attribute[lamp_no]", "1"), ("attribute[where]", "1"), ("attribute[where]", "2")], "invalid_attribute"),
    ([("attribute[lamp_no]", "1"), ("attribute[also][]", "z")], "invalid_attribute"),
    ([("attribute[lamp_no]", "1"), ("attribute[colour]", "red")], "unknown_attribute"),
    ([("attribute[lamp_no]", "1"), ("attribute[old]", "x")], "unknown_attribute"),  # switched off
])
def test_bad_attribute_answers_are_400(world, keys, lamp_attributes, pairs, code):
    response = file(keys.platform, pairs=[("service_code", str(world.repair.pk)), *pairs])
    description = georeport_error(response, 400, code)
    assert "(attribute[" in description
    assert not Matter.objects.exists()


def test_number_and_datetime_attributes_are_checked(world, keys):
    ServiceAttribute.objects.create(item=world.parking, code="cars", description="几辆车？", datatype="number", required=True)
    ServiceAttribute.objects.create(item=world.parking, code="since", description="何时开始？", datatype="datetime")
    base = [("service_code", str(world.parking.pk)), ("address_string", "宝林一村消防通道")]
    georeport_error(file(keys.platform, pairs=[*base, ("attribute[cars]", "两")]), 400, "invalid_attribute")
    georeport_error(file(keys.platform, pairs=[*base, ("attribute[cars]", "2"), ("attribute[since]", "昨天")]), 400,
                    "invalid_attribute")
    ok = file(keys.platform, pairs=[*base, ("attribute[cars]", "2"), ("attribute[since]", "2026-12-01T08:00:00+08:00")])
    assert ok.status_code == 201, ok.content


def test_list_attributes_need_options(world):
    from django.core.exceptions import ValidationError

    for values in ([], [{"key": "1"}], [{"key": "1", "name": "a"}, {"key": "1", "name": "b"}]):
        with pytest.raises(ValidationError):
            ServiceAttribute(item=world.repair, code="x", description="x", datatype="singlevaluelist", values=values).clean()
    with pytest.raises(ValidationError):
        ServiceAttribute(item=world.repair, code="x", description="x", datatype="string", values=[{"key": "1", "name": "a"}]).clean()
    ServiceAttribute(item=world.repair, code="x", description="x", datatype="multivaluelist",
                     values=[{"key": "1", "name": "a"}]).clean()
