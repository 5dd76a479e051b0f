"""PIPL: a resident exports everything held about them, and erases it."""

from __future__ import annotations

import pytest

from core.errors import NotFound
from notifications.actions import do_notify
from notifications.models import Notification
from privacy import pipl
from residents.models import ApiToken, Beneficiary, Membership, PersonalInfoConsent, SensitiveAccessLog, User
from tests import factories as f
from tests.conftest import Api, assert_error
from tests.trust.dump import plaintexts_found

pytestmark = pytest.mark.urls("tests.trust.probe_urls")

PHONE = "13812345678"
ELDER_PHONE = "13900002222"
ADDRESS = "宝林一村5号楼301室"
HEALTH = "糖尿病，每日注射胰岛素"


@pytest.fixture
def zhangsan(neighborhood):
    user = f.UserFactory(openid="zhangsan", username="wx_zhangsan", nickname="张三", phone=PHONE)
    f.MembershipFactory(user=user, neighborhood=neighborhood, building="5号楼", room="301室")
    f.BeneficiaryFactory(
        owner=user, neighborhood=neighborhood, name="王阿婆", phone=ELDER_PHONE, address=ADDRESS, health_notes=HEALTH,
        is_default=True,
    )
    PersonalInfoConsent.objects.create(user=user, purpose="health", text_version="v1")
    do_notify(recipients=[user], kind="service", title="您的服务申请已受理", event_key="sr:1:accepted")
    return user


@pytest.fixture
def lisi(neighborhood):
    user = f.UserFactory(openid="lisi", phone="13700007777")
    f.BeneficiaryFactory(owner=user, neighborhood=neighborhood, name="李老伯", health_notes="心脏支架术后")
    return user


def test_export_holds_my_profile_homes_elders_consents_and_inbox_in_full(zhangsan, lisi):
    response = Api(zhangsan).get("/api/v1/me/export")
    assert response.status_code == 200
    body = response.json()
    residents = body["sections"]["residents"]
    assert residents["profile"]["phone"] == PHONE
    assert residents["memberships"][0]["room"] == "301室"
    assert residents["memberships"][0]["neighborhood_name"]
    elder = residents["beneficiaries"][0]
    assert (elder["name"], elder["phone"], elder["address"], elder["health_notes"]) == ("王阿婆", ELDER_PHONE, ADDRESS, HEALTH)
    assert residents["consents"][0]["purpose"] == "health"
    assert body["sections"]["notifications"]["inbox"][0]["title"] == "您的服务申请已受理"
    assert response["Cache-Control"] == "no-store"


def test_export_holds_nothing_of_anyone_else_and_no_secrets(zhangsan, lisi):
    text = Api(zhangsan).get("/api/v1/me/export").content.decode()
    assert "李老伯" not in text and "13700007777" not in text and "心脏支架" not in text
    assert "password" not in text and "key_hash" not in text


def test_export_and_erase_need_a_login(db):
    assert_error(Api().get("/api/v1/me/export"), 401, "not_authenticated")
    assert_error(Api().delete("/api/v1/me"), 401, "not_authenticated")


def test_erasure_removes_personal_data_and_keeps_a_tombstone(zhangsan, lisi):
    api = Api(zhangsan)
    assert api.delete("/api/v1/me").status_code == 204
    user = User.objects.get(pk=zhangsan.pk)
    assert user.deleted_at is not None and not user.is_active
    assert user.display_name == "已注销用户" and user.nickname == "已注销用户"
    assert user.phone == "" and user.openid is None and user.unionid is None
    assert "zhangsan" not in user.username
    assert not user.has_usable_password()
    membership = Membership.objects.get(user=user)
    assert membership.room == "" and membership.building == "" and membership.status == "left"
    assert not Beneficiary.objects.filter(owner=user).exists()
    assert not PersonalInfoConsent.objects.filter(user=user, withdrawn_at__isnull=True).exists()
    assert not Notification.objects.filter(recipient=user).exists()
    assert not ApiToken.objects.filter(user=user, revoked_at__isnull=True).exists()
    # Someone else's data is untouched.
    assert User.objects.get(pk=lisi.pk).phone == "13700007777"
    assert Beneficiary.objects.get(owner=lisi).health_notes == "心脏支架术后"


def test_after_erasure_nothing_of_it_is_left_in_a_database_dump(zhangsan):
    Api(zhangsan).delete("/api/v1/me")
    assert plaintexts_found([PHONE, ELDER_PHONE, ADDRESS, HEALTH, "王阿婆", "您的服务申请已受理"]) == []


def test_erasure_is_logged_for_the_district_admin(zhangsan):
    Api(zhangsan).delete("/api/v1/me")
    entry = SensitiveAccessLog.objects.get(subject_user=zhangsan, field="account_erased")
    assert entry.screen == "DELETE /api/v1/me"


def test_the_token_stops_working_at_once(zhangsan):
    api = Api(zhangsan)
    api.delete("/api/v1/me")
    assert_error(api.get("/api/v1/me/export"), 401, "token_invalid")
    assert_error(api.delete("/api/v1/me"), 401, "token_invalid")


def test_erasing_twice_finds_nothing_the_second_time(zhangsan):
    pipl.do_erase_user(user=zhangsan, actor=zhangsan, screen="test")
    with pytest.raises(NotFound):
        pipl.do_erase_user(user=zhangsan, actor=zhangsan, screen="test")


def test_a_new_login_with_the_same_wechat_account_makes_a_fresh_user(zhangsan):
    Api(zhangsan).delete("/api/v1/me")
    # What residents' login does for an openid it does not know.
    fresh = User.objects.create(openid="zhangsan", username="wx_zhangsan", nickname="微信用户")
    assert fresh.pk != zhangsan.pk
    assert not Beneficiary.objects.filter(owner=fresh).exists()


def test_public_content_keeps_pointing_at_the_account_shown_as_erased(zhangsan):
    # Posts and comments keep their author FK; whatever renders the author uses display_name.
    Api(zhangsan).delete("/api/v1/me")
    assert str(User.objects.get(pk=zhangsan.pk)) == "已注销用户"


def test_a_failing_step_rolls_the_whole_erasure_back(zhangsan):
    f.token_for(zhangsan)

    def broken(user):
        raise RuntimeError("disk full")

    pipl.register_eraser("zz_broken", broken)
    try:
        with pytest.raises(RuntimeError):
            pipl.do_erase_user(user=zhangsan, actor=zhangsan, screen="test")
    finally:
        pipl._erasers.pop("zz_broken")
    user = User.objects.get(pk=zhangsan.pk)
    assert user.deleted_at is None and user.phone == PHONE
    assert Beneficiary.objects.filter(owner=user).exists()
    assert ApiToken.objects.filter(user=user, revoked_at__isnull=True).exists()


def test_every_app_holding_personal_data_registers_both_steps(db):
    assert {"residents", "notifications", "community", "services", "deliberation"} <= set(pipl.exporters())
    assert set(pipl.exporters()) == set(pipl.erasers())


def test_a_staff_member_who_erases_their_account_loses_their_roles(zhangsan, neighborhood):
    f.RoleFactory(user=zhangsan, region=neighborhood)
    Api(zhangsan).delete("/api/v1/me")
    assert not zhangsan.roles.filter(revoked_at__isnull=True).exists()
