"""The catalog every resident sees first: 9 大类, 48 小类, seeded by a migration."""

from __future__ import annotations

from services.models import ServiceCategory, ServiceItem
from tests import factories as f
from tests.conftest import assert_error


def test_migration_seeds_nine_categories_and_fortyeight_items(db):
    assert ServiceCategory.objects.count() == 9
    assert ServiceItem.objects.count() == 48
    names = set(ServiceItem.objects.values_list("name", flat=True))
    for expected in ["送餐上门", "堂食", "陪同就医", "代配药", "紧急呼叫", "燃气用电安全检查", "防跌倒评估", "上门探访", "谈心陪伴"]:
        assert expected in names


def test_every_item_has_valid_field_definitions(db):
    for item in ServiceItem.objects.all():
        assert item.description and item.price_text
        for definition in item.fields:
            assert definition["type"] in ServiceItem.FIELD_TYPES, item.code
            if definition["type"] == "choice":
                assert definition["choices"], item.code


def test_resident_reads_the_catalog_in_two_queries(api_for, neighborhood, django_assert_num_queries):
    resident = f.resident(neighborhood)
    api = api_for(resident)
    api.get("/api/v1/service-catalog")  # warm the token's last_used_at write
    with django_assert_num_queries(3):  # token + categories + items
        response = api.get("/api/v1/service-catalog")
    assert response.status_code == 200
    categories = response.json()["categories"]
    assert [c["name"] for c in categories][:2] == ["助餐", "助浴"]
    meal = next(i for i in categories[0]["items"] if i["name"] == "送餐上门")
    diet = next(d for d in meal["fields"] if d["key"] == "diet")
    assert diet["choices"] == ["普通", "低盐", "低糖", "流质"]
    assert meal["min_age"] == 60 and meal["allows_plan"] is True
    assert sum(len(c["items"]) for c in categories) == 48


def test_inactive_items_are_hidden(api_for, neighborhood):
    ServiceItem.objects.filter(code="meal-holiday").update(is_active=False)
    response = api_for(f.resident(neighborhood)).get("/api/v1/service-catalog")
    codes = {i["code"] for c in response.json()["categories"] for i in c["items"]}
    assert "meal-holiday" not in codes and len(codes) == 47


def test_anonymous_caller_gets_401(anon, db):
    assert_error(anon.get("/api/v1/service-catalog"), 401, "not_authenticated")
