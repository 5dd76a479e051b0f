"""The services rows of the load test: one-tap create and the staff queue (see bench/prepare.py)."""

from __future__ import annotations

import json
from collections.abc import Callable

from residents.models import Beneficiary, Region, User
from services.models import ServiceItem


def _simple_item() -> ServiceItem | None:
    """An item anyone may ask for with no required extra fields: the one-tap case."""
    for item in ServiceItem.objects.filter(is_active=True, who_may_ask=ServiceItem.Requester.ANYONE, min_age__lte=60):
        if not any(f.get("required") for f in item.fields or []):
            return item
    return None


def create_scenario(neighborhood: Region, n: int, bearer: Callable[[User], str]) -> dict:
    item = _simple_item()
    if item is None:
        return {"available": False, "reason": "no catalog item without required fields"}
    owners = list(
        Beneficiary.objects.filter(neighborhood=neighborhood, is_default=True, deleted_at__isnull=True)
        .select_related("owner")
        .order_by("id")[:n]
    )
    if not owners:
        return {"available": False, "reason": "no beneficiaries in the busiest neighborhood"}
    # One tap: the item only. A typed note adds WeChat's msgSecCheck round trip (outside the
    # create's transaction), which on loopback would measure the stand-in, not this stack.
    body = json.dumps({"item": item.id}, ensure_ascii=False)
    # Many requesters, each with their default elder, like a morning of real taps.
    return {
        "available": True,
        "requests": [["POST", "/api/v1/service-requests", bearer(b.owner), body, "1"] for b in owners],
    }


def staff_queue_scenario(staff: User, neighborhood: Region, bearer: Callable[[User], str]) -> dict:
    path = (
        f"/api/v1/service-requests?scope=region&neighborhood={neighborhood.id}"
        "&status=submitted&status=accepted&status=reopened&ordering=queue&limit=20"
    )
    return {"available": True, "requests": [["GET", path, bearer(staff), "", "0"]]}


def switch_new_request_push(neighborhood: Region, on: bool) -> dict:
    """The staff's WeChat push for a new request (kind `service_request_new`) on or off, for the
    "create with the staff's push on" row: the demo template (notifications/demo.py) active, and
    every committee member of the neighborhood with an openid and a million unused consents, so
    each create writes an outbox row per member and sets a consent aside for each. Idempotent;
    `off` deactivates the template, so the other rows measure what they measured before."""
    from notifications.demo import DEMO_TEMPLATES
    from notifications.models import SubscribeConsent, SubscribeTemplate
    from residents import roles
    from residents.models import Role

    name, template_id, fields, page, long_term = DEMO_TEMPLATES["service_request_new"]
    SubscribeTemplate.objects.update_or_create(
        kind="service_request_new",
        defaults={"name": name, "template_id": template_id, "fields": fields, "page": page, "long_term": long_term,
                  "is_active": on},
    )
    staff_ids = roles.holder_ids(neighborhood.pk, Role.Kind.COMMITTEE_STAFF)
    if on:
        for user in User.objects.filter(pk__in=staff_ids, openid__isnull=True):
            user.openid = f"bench-staff-{user.pk}"
            user.save(update_fields=["openid"])
        for user_id in staff_ids:
            SubscribeConsent.objects.update_or_create(
                user_id=user_id, template_id=template_id, defaults={"remaining": 1_000_000}
            )
    return {"push": "on" if on else "off", "staff": len(staff_ids)}
