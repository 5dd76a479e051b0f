"""Every subscribe-message push says what happened and opens what it is about.

For each kind with a (demo) template, the person acts through the API as they would, the outbox
delivers after commit to the WeChat stand-in over real HTTP, and the assertions read the message
as the stand-in received it: every template field is there with its real value (no "-"), and
`page` opens the object, with its id.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.utils import timezone

from cases.actions import do_escalate_overdue_cases
from notifications import demo
from notifications.demo import DEMO_TEMPLATES
from residents.models import Role
from services.models import ServiceItem, ServiceRequest
from tests import factories as f
from tests.conftest import Api
from tests.notifications.conftest import give_consents

ANY_TIME = re.compile(r"^\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}$")
MEAL = {"diet": "低盐", "time_slot": "午餐"}


@dataclass
class World:
    neighborhood: object
    son: object  # 张三, a resident who acts for his mother
    neighbor: object  # 李四, a resident who follows topics
    applicant: object  # 王五, not a member yet
    staff: object  # 陈主任, committee staff
    officer: object  # 刘科长, street officer
    volunteer: object  # 吴师傅, service provider of the street


@dataclass
class Expected:
    recipient: object
    fields: dict[str, str | re.Pattern]  # every field of the template: its value (a pattern for "now")
    page: str


@pytest.fixture
def world(db, street, neighborhood, wechat_standin) -> World:
    demo.seed(io.StringIO())
    volunteer = f.UserFactory(nickname="吴师傅")
    f.RoleFactory(user=volunteer, region=street, kind=Role.Kind.SERVICE_PROVIDER)
    son = f.resident(neighborhood, nickname="张三")
    # His mother, the elder the one-tap meal is for (the item is for people over 60).
    f.BeneficiaryFactory(owner=son, neighborhood=neighborhood, name="王阿婆", birth_year=1938, is_default=True)
    world = World(
        neighborhood=neighborhood,
        son=son,
        neighbor=f.resident(neighborhood, nickname="李四"),
        applicant=f.UserFactory(nickname="王五"),
        staff=f.staff(neighborhood, nickname="陈主任"),
        officer=f.officer(street, nickname="刘科长"),
        volunteer=volunteer,
    )
    # Everyone accepted every template once, in our count and in WeChat's.
    template_ids = {spec[1] for spec in DEMO_TEMPLATES.values()}
    for person in (world.son, world.neighbor, world.applicant, world.staff, world.officer, world.volunteer):
        for template_id in template_ids:
            give_consents(person, 1, wechat_standin, template_id=template_id)
    return world


def shanghai(moment: dt.datetime) -> str:
    local = timezone.localtime(moment)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def meal() -> ServiceItem:
    return ServiceItem.objects.get(code="meal-delivery")


def ask_for_meal(w: World) -> ServiceRequest:
    response = Api(w.son).post("/api/v1/service-requests", {"item": meal().pk, "extra": MEAL})
    assert response.status_code == 201, response.content
    return ServiceRequest.objects.get(pk=response.json()["id"])


def move(actor, req: ServiceRequest, to: str, **body) -> None:
    response = Api(actor).post(f"/api/v1/service-requests/{req.pk}/transitions", {"to": to, **body})
    assert response.status_code == 200, response.content


def apply_to_join(w: World) -> int:
    response = Api(w.applicant).post(
        "/api/v1/memberships", {"neighborhood": w.neighborhood.pk, "building": "5号楼", "room": "301室"}
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def ask_party_identity(w: World) -> int:
    response = Api(w.son).post("/api/v1/party-identity", {"neighborhood": w.neighborhood.pk, "party_branch": "宝林一村党总支"})
    assert response.status_code == 201, response.content
    return response.json()["id"]


def post_in_feed(w: World) -> int:
    body = {"neighborhood_id": w.neighborhood.pk, "section": "neighbors", "title": "3号楼电梯又停了", "body": "已经停了两天"}
    response = Api(w.son).post("/api/v1/posts", body)
    assert response.status_code == 201, response.content
    return response.json()["id"]


# --- one story per kind: the real action, through the API, and what the push must say ---------


def membership_approved(w: World) -> Expected:
    membership_id = apply_to_join(w)
    Api(w.staff).post(f"/api/v1/memberships/{membership_id}/decision", {"decision": "approve"})
    return Expected(
        w.applicant, {"thing1": w.neighborhood.name, "phrase2": "已通过", "time3": ANY_TIME},
        f"pages/home/index?neighborhood_id={w.neighborhood.pk}",
    )


def membership_rejected(w: World) -> Expected:
    membership_id = apply_to_join(w)
    Api(w.staff).post(f"/api/v1/memberships/{membership_id}/decision", {"decision": "reject", "reason": "请补充房产证明"})
    return Expected(
        w.applicant,
        {"thing1": w.neighborhood.name, "phrase2": "未通过", "thing4": "请补充房产证明", "time3": ANY_TIME},
        f"pages/me/membership?id={membership_id}",
    )


def party_identity_verified(w: World) -> Expected:
    request_id = ask_party_identity(w)
    Api(w.staff).post(f"/api/v1/party-identity/{request_id}/decision", {"decision": "approve"})
    return Expected(
        w.son, {"thing1": w.neighborhood.name, "phrase2": "已认证", "time3": ANY_TIME},
        f"pages/me/party-identity?id={request_id}",
    )


def party_identity_rejected(w: World) -> Expected:
    request_id = ask_party_identity(w)
    Api(w.staff).post(f"/api/v1/party-identity/{request_id}/decision", {"decision": "reject", "reason": "组织关系不在本居委"})
    return Expected(
        w.son,
        {"thing1": w.neighborhood.name, "phrase2": "未通过", "thing4": "组织关系不在本居委", "time3": ANY_TIME},
        f"pages/me/party-identity?id={request_id}",
    )


def service_request_new(w: World) -> Expected:
    req = ask_for_meal(w)
    return Expected(
        w.staff, {"thing1": meal().name, "thing2": w.neighborhood.name, "time3": shanghai(req.accept_due_at)},
        f"pages/services/detail?id={req.pk}",
    )


def service_request_status(w: World) -> Expected:
    req = ask_for_meal(w)
    move(w.staff, req, "accepted", note="明天中午送到")
    return Expected(
        w.son, {"thing1": meal().name, "phrase2": "已受理", "thing3": "明天中午送到", "time4": ANY_TIME},
        f"pages/services/detail?id={req.pk}",
    )


def service_request_assigned(w: World) -> Expected:
    req = ask_for_meal(w)
    move(w.staff, req, "accepted")
    move(w.staff, req, "assigned", assignee_user=w.volunteer.pk)
    return Expected(
        w.volunteer, {"thing1": meal().name, "thing2": w.neighborhood.name, "time3": shanghai(req.complete_due_at)},
        f"pages/services/detail?id={req.pk}",
    )


def service_request_overdue(w: World) -> Expected:
    req = ask_for_meal(w)
    # Nobody accepted it in time: the scheduler's periodic sweep, a minute past the deadline.
    assert do_escalate_overdue_cases(now=req.accept_due_at + dt.timedelta(minutes=1)) == 1
    return Expected(
        w.officer,
        {"thing1": meal().name, "thing2": w.neighborhood.name, "phrase3": "受理超时", "time4": shanghai(req.accept_due_at)},
        f"pages/services/detail?id={req.pk}",
    )


def report_matter(w: World):
    """张三 reports a broken street light; it is routed to the committee, 陈主任 its member."""
    from cases.models import ResponsibleUnit
    from matters.models import Matter, MatterCategory, MatterItem, RoutingRule

    unit = ResponsibleUnit.objects.create(name="宝林一村居委会", kind=ResponsibleUnit.Kind.COMMITTEE, region=w.neighborhood)
    unit.members.add(w.staff)
    category = MatterCategory.objects.create(name="设施报修")
    item = MatterItem.objects.create(category=category, name="路灯不亮", accept_hours=12, resolve_hours=72)
    RoutingRule.objects.create(region=w.neighborhood, category=category, unit=unit)
    response = Api(w.son).post("/api/v1/matters", {"item": item.pk, "text": "5号楼东侧路灯一周没亮", "place": "5号楼东侧"})
    assert response.status_code == 201, response.content
    return Matter.objects.select_related("case").get(pk=response.json()["id"])


def case_assigned(w: World) -> Expected:
    matter = report_matter(w)
    return Expected(
        w.staff, {"thing1": "设施报修：路灯不亮", "thing2": "新诉求待受理", "time3": shanghai(matter.case.accept_due_at)},
        f"pages/matters/detail?id={matter.pk}",
    )


def sensor_alert_leader(w: World) -> Expected:
    """李四 is the 楼组长 of 1号楼组, where an elder's home has a 紧急按钮; the vendor's platform
    pushes its alarm."""
    import json
    import time

    from residents.models import Membership
    from sensors.models import Device, HomeConsent, Integration, SensorCase
    from sensors.signature import sign

    group = f.BuildingGroupFactory(parent=w.neighborhood, name="1号楼组")
    Membership.objects.filter(user=w.neighbor).update(building_group=group)
    f.RoleFactory(user=w.neighbor, region=w.neighborhood, kind=Role.Kind.BUILDING_LEADER)
    elder = f.BeneficiaryFactory(owner=w.son, neighborhood=w.neighborhood, name="王阿婆")
    HomeConsent.objects.create(beneficiary=elder, given_by="family", given_by_name="张三", method="paper", given_at=timezone.now())
    Device.objects.create(kind=Device.Kind.PANIC, vendor="acme", vendor_device_id="SOS-1", region=w.neighborhood,
                          home=elder, building_group=group)
    integration = Integration.objects.create(name="某厂商平台", vendor="acme", secret="vendor-secret-0123456789")
    body = json.dumps({"events": [{"event_id": "sos-1", "device_id": "SOS-1", "type": "alarm",
                                   "occurred_at": timezone.now().isoformat()}]}).encode()
    ts = str(int(time.time()))
    response = Api().client.generic(
        "POST", "/api/v1/sensors/ingest", body, content_type="application/json", HTTP_X_SENSOR_INTEGRATION=str(integration.pk),
        HTTP_X_SENSOR_TIMESTAMP=ts, HTTP_X_SENSOR_SIGNATURE=sign("vendor-secret-0123456789", ts, body),
    )
    assert response.status_code == 200 and response.json()["accepted"] == ["sos-1"], response.content
    alert = SensorCase.objects.get(device__vendor_device_id="SOS-1")
    return Expected(
        w.neighbor, {"thing1": "紧急按钮报警：老人住所", "thing2": "1号楼组", "time3": shanghai(alert.created_at)},
        f"pages/sensors/alert?case={alert.case_id}",
    )


def case_overdue(w: World) -> Expected:
    from cases.actions import do_escalate_overdue_cases

    matter = report_matter(w)
    # Nobody accepted it in time: the scheduler's periodic sweep, a minute past the deadline.
    assert do_escalate_overdue_cases(now=matter.case.accept_due_at + dt.timedelta(minutes=1)) == 1
    return Expected(
        w.officer,
        {"thing1": "设施报修：路灯不亮", "thing2": "宝林一村居委会", "phrase3": "受理超时",
         "time4": shanghai(matter.case.accept_due_at)},
        f"pages/matters/detail?id={matter.pk}",
    )


def case_update(w: World) -> Expected:
    matter = report_matter(w)
    for verb, body in (("accept", {}), ("resolve", {"answer": "路灯已更换，今晚起正常照明"})):
        response = Api(w.staff).post(f"/api/v1/matters/{matter.pk}/{verb}", body)
        assert response.status_code == 200, response.content
    return Expected(
        w.son, {"thing1": "设施报修：路灯不亮", "phrase2": "已答复", "thing3": "路灯已更换，今晚起正常照明", "time4": ANY_TIME},
        f"pages/matters/detail?id={matter.pk}",
    )


def topic_update(w: World) -> Expected:
    response = Api(w.son).post(
        "/api/v1/topics", {"neighborhood": w.neighborhood.pk, "category": "parking", "title": "小区停车位重新划线", "body": "希望居委牵头讨论。"}
    )
    assert response.status_code == 201, response.content
    topic_id = response.json()["id"]
    assert Api(w.neighbor).post(f"/api/v1/topics/{topic_id}/supports").status_code == 201
    response = Api(w.staff).post(f"/api/v1/topics/{topic_id}/transitions", {"to": "discussing", "note": "周六下午在活动室讨论"})
    assert response.status_code == 200, response.content
    return Expected(
        w.neighbor,
        {"thing1": "小区停车位重新划线", "phrase2": "讨论中", "thing3": "周六下午在活动室讨论", "time4": ANY_TIME},
        f"pages/topics/detail?id={topic_id}",
    )


def post_answered(w: World) -> Expected:
    post_id = post_in_feed(w)
    response = Api(w.staff).post(f"/api/v1/posts/{post_id}/comments", {"body": "已联系物业维修", "official": True})
    assert response.status_code == 201, response.content
    return Expected(
        w.son, {"thing1": "3号楼电梯又停了", "thing2": "已联系物业维修", "time3": ANY_TIME}, f"pages/post/detail?id={post_id}"
    )


def post_moderated(w: World) -> Expected:
    post_id = post_in_feed(w)
    response = Api(w.staff).post(f"/api/v1/posts/{post_id}/moderation", {"action": "hide", "reason": "请勿重复发帖"})
    assert response.status_code == 200, response.content
    return Expected(
        w.son, {"thing1": "3号楼电梯又停了", "phrase2": "已隐藏", "thing3": "请勿重复发帖"}, f"pages/post/detail?id={post_id}"
    )


STORIES: dict[str, Callable[[World], Expected]] = {
    story.__name__: story
    for story in (
        membership_approved, membership_rejected, party_identity_verified, party_identity_rejected,
        service_request_new, service_request_status, service_request_assigned, service_request_overdue,
        case_assigned, case_overdue, case_update, sensor_alert_leader, topic_update, post_answered, post_moderated,
    )
}


def test_every_kind_with_a_template_has_a_story():
    assert set(STORIES) == set(DEMO_TEMPLATES)


@pytest.mark.parametrize("kind", sorted(DEMO_TEMPLATES))
def test_the_push_carries_real_values_and_opens_its_object(kind, world, wechat_standin, django_capture_on_commit_callbacks):
    _name, template_id, fields, _page, _long_term = DEMO_TEMPLATES[kind]
    with django_capture_on_commit_callbacks(execute=True):
        expected = STORIES[kind](world)

    with wechat_standin.state.lock:
        received = [
            m for m in wechat_standin.state.sent_messages
            if m["touser"] == expected.recipient.openid and m["template_id"] == template_id
        ]
    assert len(received) == 1, received
    message = received[0]
    values = {key: value["value"] for key, value in message["data"].items()}
    assert set(values) == set(fields) == set(expected.fields)
    for key, value in values.items():
        assert value and value != "-", (key, values)
        want = expected.fields[key]
        if isinstance(want, re.Pattern):
            assert want.match(value), (key, value)
        else:
            assert value == want, (key, values)
    assert message["page"] == expected.page
