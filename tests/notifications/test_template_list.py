"""GET /api/v1/notifications/templates: the subscribe-message templates the mini-program asks each
person to consent to, by the kinds that person can receive."""

from __future__ import annotations

import io

import pytest

from notifications import demo
from notifications.models import SubscribeTemplate
from residents.models import Role
from tests import factories as f
from tests.conftest import Api, assert_error

RESIDENT_KINDS = {
    "membership_approved", "membership_rejected", "party_identity_verified", "party_identity_rejected",
    "service_request_status", "topic_update", "post_answered", "post_moderated", "case_update",
}


@pytest.fixture
def templates(db):
    demo.seed(io.StringIO())


def _kinds(user) -> dict[str, dict]:
    response = Api(user).get("/api/v1/notifications/templates")
    assert response.status_code == 200, response.content
    return {t["kind"]: t for t in response.json()["templates"]}


def test_resident_is_asked_only_for_what_residents_receive(templates, neighborhood):
    kinds = _kinds(f.resident(neighborhood))
    assert set(kinds) == RESIDENT_KINDS
    assert kinds["service_request_status"] == {
        "kind": "service_request_status", "template_id": "demo-tpl-service-status", "title": "服务进度通知", "long_term": False,
    }


def test_staff_officer_and_provider_are_asked_for_their_kinds_too(templates, street, neighborhood):
    volunteer = f.UserFactory()
    f.RoleFactory(user=volunteer, region=street, kind=Role.Kind.SERVICE_PROVIDER)
    assert set(_kinds(f.staff(neighborhood))) == RESIDENT_KINDS | {"service_request_new", "service_request_overdue"}
    assert set(_kinds(f.officer(street))) == RESIDENT_KINDS | {"service_request_overdue", "case_overdue"}
    assert set(_kinds(volunteer)) == RESIDENT_KINDS | {"service_request_assigned"}


def test_member_of_a_provider_organization_is_asked_for_assignments(templates, street):
    from services.models import ProviderOrganization

    worker = f.UserFactory()
    ProviderOrganization.objects.create(name="友谊路助老服务社", street=street).members.add(worker)
    assert "service_request_assigned" in _kinds(worker)


def test_a_switched_off_template_is_not_offered(templates, neighborhood):
    SubscribeTemplate.objects.filter(kind="topic_update").update(is_active=False)
    assert "topic_update" not in _kinds(f.resident(neighborhood))


def test_settings_templates_are_offered_when_no_row_exists(templates, neighborhood, settings):
    settings.NOTIFICATION_TEMPLATES = {
        "role_granted": {"template_id": "tpl-role", "name": "身份变更通知", "fields": {"thing1": "title"}, "long_term": True}
    }
    assert _kinds(f.resident(neighborhood))["role_granted"] == {
        "kind": "role_granted", "template_id": "tpl-role", "title": "身份变更通知", "long_term": True,
    }


def test_templates_need_a_login(db):
    assert_error(Api().get("/api/v1/notifications/templates"), 401)


def test_templates_endpoint_is_in_the_schema(client, db):
    paths = client.get("/api/schema/", {"format": "json"}).json()["paths"]
    assert "200" in paths["/api/v1/notifications/templates"]["get"]["responses"]
