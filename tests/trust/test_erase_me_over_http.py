"""DELETE /api/v1/me through the real URLconf: residents' MeView hands erasure to privacy.pipl."""

from __future__ import annotations

import pytest

from residents.models import SensitiveAccessLog, User
from tests import factories as f
from tests.community.conftest import make_post
from tests.conftest import Api, assert_error

LOGIN = "/api/v1/auth/wechat"


@pytest.fixture
def zhangsan(neighborhood):
    return f.resident(neighborhood, openid="zhangsan", username="wx_zhangsan", nickname="张三", phone="13800138001")


def test_erased_resident_loses_every_token_and_their_post_shows_as_erased(zhangsan, neighborhood):
    neighbour = f.resident(neighborhood)
    post = make_post(neighborhood, zhangsan, title="楼道灯坏了")
    first, second = Api(zhangsan), Api(zhangsan)

    assert first.delete("/api/v1/me").status_code == 204

    assert_error(first.get("/api/v1/me"), 401, "token_invalid")
    assert_error(second.get("/api/v1/me"), 401, "token_invalid")
    feed = Api(neighbour).get(f"/api/v1/neighborhoods/{neighborhood.id}/feed").json()["results"]
    shown = next(p for p in feed if p["id"] == post.id)
    assert shown["author"]["name"] == "已注销用户"
    assert "张三" not in str(feed)
    entry = SensitiveAccessLog.objects.get(subject_user=zhangsan, field="account_erased")
    assert entry.screen == "DELETE /api/v1/me"


def test_a_new_wechat_login_after_erasure_creates_a_fresh_account(zhangsan, anon, wechat_standin):
    Api(zhangsan).delete("/api/v1/me")

    response = anon.post(LOGIN, {"code": "demo-zhangsan-after-erasure"})

    assert response.status_code == 201, response.content
    fresh = User.objects.get(openid="zhangsan")
    assert fresh.pk != zhangsan.pk and response.json()["user"]["id"] == fresh.pk
    assert fresh.phone == "" and fresh.nickname != "张三"
    assert not fresh.memberships.exists()


def test_erasure_is_in_the_schema_for_the_mini_program(db):
    schema = Api().get("/api/schema/?format=json").json()
    assert "delete" in schema["paths"]["/api/v1/me"]
