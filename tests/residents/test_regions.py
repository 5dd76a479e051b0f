"""The public region picker: list by level/street/name, detail with the parent chain, join QR codes."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from tests import factories as f
from tests.conftest import assert_error
from wechat.standin.png import read_text_chunks

pytestmark = pytest.mark.django_db


def test_anyone_can_list_the_neighborhoods_of_a_street(anon, neighborhood, other_neighborhood, street):
    f.NeighborhoodFactory(parent=street, name="宝林二村居委会", code="310113001002")
    body = anon.get("/api/v1/regions", {"parent": street.pk}).json()
    assert [r["name"] for r in body["results"]] == ["宝林一村居委会", "宝林二村居委会"]
    assert body["results"][0]["households"] == 1000
    assert body["next_cursor"] is None


def test_name_search_and_level_filter(anon, neighborhood, other_neighborhood):
    body = anon.get("/api/v1/regions", {"q": "塘后", "level": "neighborhood"}).json()
    assert [r["name"] for r in body["results"]] == ["塘后路居委会"]
    assert anon.get("/api/v1/regions", {"q": "塘后", "level": "street"}).json()["results"] == []


def test_region_list_pages_by_cursor_with_fixed_queries(anon, street, django_assert_max_num_queries):
    for i in range(30):
        f.NeighborhoodFactory(parent=street, code=f"3101130099{i:02d}")
    seen = []
    cursor = None
    while True:
        params = {"parent": street.pk, "limit": 7}
        if cursor:
            params["cursor"] = cursor
        with django_assert_max_num_queries(2):
            body = anon.get("/api/v1/regions", params).json()
        seen += [r["code"] for r in body["results"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(seen) and len(seen) == 30


@pytest.mark.parametrize(
    "params,code",
    [
        ({"level": "planet"}, "invalid_input"),
        ({"q": "长" * 33}, "invalid_input"),
        ({"parent": "abc"}, "invalid_input"),
        ({"limit": "1000"}, "invalid_limit"),
        ({"cursor": "!!!"}, "invalid_cursor"),
        ({"color": "red"}, "invalid_input"),
    ],
)
def test_bad_region_queries_are_400(anon, db, params, code):
    assert_error(anon.get("/api/v1/regions", params), 400, code)


def test_unknown_parent_is_404(anon, db):
    assert_error(anon.get("/api/v1/regions", {"parent": 999999}), 404, "region_not_found")


def test_region_detail_has_parent_chain_and_denominators(anon, neighborhood, django_assert_max_num_queries):
    with django_assert_max_num_queries(1):
        body = anon.get(f"/api/v1/regions/{neighborhood.pk}").json()
    assert [a["name"] for a in body["ancestors"]] == ["宝山区", "友谊路街道"]
    assert (body["households"], body["population"]) == (1000, 2500)
    street = anon.get(f"/api/v1/regions/{neighborhood.parent_id}").json()
    assert street["households"] is None


def test_unknown_region_is_404(anon, db):
    assert_error(anon.get("/api/v1/regions/424242"), 404, "region_not_found")


def test_join_qrcode_is_a_png_carrying_the_neighborhood_scene_and_is_cached(anon, neighborhood, wechat_standin):
    response = anon.get(f"/api/v1/regions/{neighborhood.pk}/qrcode")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response.content.startswith(b"\x89PNG")
    texts = read_text_chunks(response.content)
    assert texts["scene"] == f"n={neighborhood.pk}"
    assert texts["page"] == "pages/join/index"
    calls = [c for c in wechat_standin.control("GET", "calls")["calls"] if "getwxacodeunlimit" in c.get("path", "")]
    assert len(calls) == 1
    # Served from the cache the second time: WeChat is not asked again.
    assert anon.get(f"/api/v1/regions/{neighborhood.pk}/qrcode").content == response.content
    calls = [c for c in wechat_standin.control("GET", "calls")["calls"] if "getwxacodeunlimit" in c.get("path", "")]
    assert len(calls) == 1


def test_qrcode_of_a_street_or_unknown_region_is_404(anon, street, wechat_standin):
    assert_error(anon.get(f"/api/v1/regions/{street.pk}/qrcode"), 404, "region_not_found")
    assert_error(anon.get("/api/v1/regions/999999/qrcode"), 404, "region_not_found")


def test_qrcode_when_wechat_is_busy_is_503_and_not_cached(anon, neighborhood, wechat_standin):
    wechat_standin.control("POST", "faults", {"path": "wxa/getwxacodeunlimit", "errcode": -1, "times": 1})
    response = anon.get(f"/api/v1/regions/{neighborhood.pk}/qrcode")
    assert_error(response, 503, "wechat_unavailable")
    assert cache.get(f"residents:join_qrcode:{neighborhood.pk}") is None
    assert anon.get(f"/api/v1/regions/{neighborhood.pk}/qrcode").status_code == 200


def test_api_schema_is_valid(anon, db):
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.validation import validate_schema

    schema = SchemaGenerator().get_schema(request=None, public=True)
    validate_schema(schema)
    for path in ("/api/v1/auth/wechat", "/api/v1/memberships/{membership_id}/decision", "/api/v1/beneficiaries/{beneficiary_id}"):
        assert path in schema["paths"]
