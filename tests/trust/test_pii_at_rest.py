"""Issue 14, defect 1: personal values are never in clear at rest, and the replay records of
Idempotency-Key (which held whole create responses: addresses, health notes, phones) expire after
24 hours, are purged, go with erasure and follow key rotation."""

from __future__ import annotations

import io
import json
import logging
import secrets
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from core import crypto
from core.idempotency import REPLAY_WINDOW
from core.models import IdempotencyRecord
from core.scheduler import periodic_jobs
from core.tasks import purge_idempotency_records
from notifications.models import OutboxMessage, SubscribeConsent, SubscribeTemplate
from residents.models import Beneficiary, PersonalInfoConsent
from services.models import ServiceItem, ServiceRequest
from tests import factories as f
from tests.conftest import Api
from tests.trust.dump import cache_dump, raw_database_dump

BENEFICIARIES = "/api/v1/beneficiaries"
REQUESTS = "/api/v1/service-requests"
ELDER = {"name": "王阿婆", "relation": "母亲", "birth_year": 1938, "mobility": "assisted"}
KEY_A = "YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE="
KEY_B = "YmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmI="


def _digits(n: int) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(n))


def _markers() -> dict[str, str]:
    """Values nobody else writes: each one found in a dump can only come from this story."""
    tag = secrets.token_hex(4)
    return {
        "user_phone": "139" + _digits(8),
        "elder_phone": "137" + _digits(8),
        "address": f"标记路{tag}弄7号1203室",
        "health_notes": f"标记病史{tag}青霉素过敏",
        "health_note": f"标记工单备注{tag}需轮椅",
        "room": f"{tag}室",
        "new_address": f"新标记路{tag}号",
    }


def _found(marker: dict[str, str], text: str) -> list[str]:
    """Names of the markers in `text`, as written or as JSON escapes them (\\u6807…)."""
    return [name for name, value in marker.items() if value in text or json.dumps(value)[1:-1] in text]


def _consent(user, *purposes: str) -> None:
    for purpose in purposes:
        PersonalInfoConsent.objects.create(user=user, purpose=purpose, text_version="v1")


@pytest.fixture
def catalog(seeded_catalog):
    """Transactional tests may start after a flush wiped the migration-seeded catalog."""


def _meal() -> int:
    return ServiceItem.objects.get(code="meal-delivery").pk


def _meal_body(elder_id: int, **extra) -> dict:
    return {"item": _meal(), "beneficiary": elder_id, "extra": {"diet": "低盐", "time_slot": "午餐"}, **extra}


@pytest.mark.django_db(transaction=True)
def test_every_create_with_personal_values_leaves_none_in_clear(
    catalog, neighborhood, other_neighborhood, wechat_standin, caplog, settings
):
    """Every create that takes a phone, address, room or health note, with an Idempotency-Key and
    repeated (so the replay record is written and used); then the database as its own dump tool
    writes it out, the cache and the log hold none of the values."""
    caplog.set_level(logging.DEBUG)
    # Tasks are stored as production stores them (django-tasks-db rows with their arguments),
    # not run inline, so their payloads are in the dump too.
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default", "wechat"]}}
    wechat_standin.control("POST", "words", {"risky": {}, "review": {}})
    marker = _markers()
    son = f.resident(neighborhood, nickname="张三")
    _consent(son, "address", "health")
    api = Api(son)
    # The committee staff get a subscribe message for each new request, and the son one for each
    # status change: every field a template can map (title, body, data) goes to the outbox.
    staff = f.staff(neighborhood, nickname="陈主任")
    for kind, template_id, user in (("service_request_new", "tpl-pii-new", staff), ("service_request_status", "tpl-pii-status", son)):
        SubscribeTemplate.objects.create(
            kind=kind, template_id=template_id, fields={"thing1": "title", "thing2": "body", "time3": "created_at"}
        )
        SubscribeConsent.objects.create(user=user, template_id=template_id, remaining=20)

    # Phone binding (the number comes from WeChat over real HTTP).
    assert api.post("/api/v1/me/consents", {"purpose": "phone", "text_version": "v1"}).status_code == 201
    bound = api.post("/api/v1/me/phone", {"code": f"phone-{marker['user_phone']}-1"}, headers={"Idempotency-Key": "phone"})
    assert bound.status_code == 200 and bound.json()["phone"] == marker["user_phone"], bound.content

    # An elder with phone, address and health notes: claim-first idempotency.
    elder_body = {**ELDER, "phone": marker["elder_phone"], "address": marker["address"], "health_notes": marker["health_notes"]}
    created = api.post(BENEFICIARIES, elder_body, headers={"Idempotency-Key": "elder"})
    assert created.status_code == 201 and created.json()["address"] == marker["address"], created.content
    again = api.post(BENEFICIARIES, elder_body, headers={"Idempotency-Key": "elder"})
    assert again["Idempotent-Replayed"] == "true" and again.json() == created.json()
    elder_id = created.json()["id"]

    # A one-tap request with a health note: the single-transaction path; its response shows the
    # address and the note in full to the requester.
    request_body = _meal_body(elder_id, health_note=marker["health_note"])
    first = api.post(REQUESTS, request_body, headers={"Idempotency-Key": "tap"})
    assert first.status_code == 201, first.content
    assert marker["address"] in first.content.decode() and marker["health_note"] in first.content.decode()
    replayed = api.post(REQUESTS, request_body, headers={"Idempotency-Key": "tap"})
    assert replayed["Idempotent-Replayed"] == "true" and replayed.json() == first.json()
    # With a typed note: WeChat's content check first, so the claim-first path.
    noted = api.post(REQUESTS, _meal_body(elder_id, note="请中午前送到"), headers={"Idempotency-Key": "noted"})
    assert noted.status_code == 201 and marker["address"] in noted.content.decode(), noted.content

    # A recurring plan copies the elder's address into every occurrence.
    start = timezone.localdate() + timedelta(days=1)
    plan = api.post(
        "/api/v1/service-plans",
        {**_meal_body(elder_id), "frequency": "daily", "start_date": start.isoformat(),
         "end_date": (start + timedelta(days=2)).isoformat(), "time_slot": "午餐"},
        headers={"Idempotency-Key": "plan"},
    )
    assert plan.status_code == 201, plan.content

    # A membership application with the room.
    newcomer = Api(f.UserFactory())
    applied = newcomer.post(
        "/api/v1/memberships", {"neighborhood": other_neighborhood.pk, "building": "5号楼", "room": marker["room"]},
        headers={"Idempotency-Key": "join"},
    )
    assert applied.status_code == 201 and applied.json()["room"] == marker["room"], applied.content

    # And an edit of the elder's address.
    assert api.patch(f"{BENEFICIARIES}/{elder_id}", {"address": marker["new_address"]}).status_code == 200
    # Staff accept the request (a status message to the son) after reading it in full.
    request_id = first.json()["id"]
    assert Api(staff).get(f"{REQUESTS}/{request_id}").status_code == 200
    accepted = Api(staff).post(f"{REQUESTS}/{request_id}/transitions", {"to": "accepted", "note": "已受理"},
                               headers={"Idempotency-Key": "accept"})
    assert accepted.status_code == 200, accepted.content

    assert IdempotencyRecord.objects.filter(status_code__isnull=False).count() == 6
    # The generic layers really hold rows of this story, so finding no marker in them means something.
    assert OutboxMessage.objects.filter(openid=staff.openid).exists() and OutboxMessage.objects.filter(openid=son.openid).exists()
    assert DBTaskResult.objects.filter(task_path__endswith="deliver_outbox_messages").exists()
    # The values really are stored (so finding none below means they are encrypted, not absent).
    assert Beneficiary.objects.get(pk=elder_id).health_notes == marker["health_notes"]
    assert ServiceRequest.objects.get(pk=first.json()["id"]).health_note == marker["health_note"]
    assert ServiceRequest.objects.filter(plan_id=plan.json()["id"]).count() == 3

    dump = raw_database_dump()
    assert "core_idempotencyrecord" in dump and "residents_beneficiary" in dump
    assert _found(marker, dump) == []
    assert _found(marker, cache_dump()) == []
    assert _found(marker, "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)) == []


@pytest.fixture
def son(neighborhood):
    user = f.resident(neighborhood, nickname="张三")
    _consent(user, "address", "health")
    return user


def _age(key: str, by: timedelta) -> None:
    IdempotencyRecord.objects.filter(key=key).update(created_at=timezone.now() - by)


def test_a_repeat_within_24_hours_replays(son, neighborhood):
    api = Api(son)
    body = {**ELDER, "address": "宝林一村5号楼301室"}
    first = api.post(BENEFICIARIES, body, headers={"Idempotency-Key": "k"})
    _age("k", REPLAY_WINDOW - timedelta(minutes=5))
    again = api.post(BENEFICIARIES, body, headers={"Idempotency-Key": "k"})
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"] and Beneficiary.objects.count() == 1


def test_a_repeat_after_24_hours_creates_anew_even_before_the_purge(son, neighborhood):
    """As Stripe does with a key it has pruned: the old answer is gone, the request is new."""
    api = Api(son)
    body = {**ELDER, "address": "宝林一村5号楼301室"}
    first = api.post(BENEFICIARIES, body, headers={"Idempotency-Key": "k"})
    _age("k", REPLAY_WINDOW + timedelta(minutes=1))
    again = api.post(BENEFICIARIES, body, headers={"Idempotency-Key": "k"})
    assert again.status_code == 201 and "Idempotent-Replayed" not in again
    assert again.json()["id"] != first.json()["id"] and Beneficiary.objects.count() == 2
    # The key now belongs to the new create, and replays it.
    third = api.post(BENEFICIARIES, body, headers={"Idempotency-Key": "k"})
    assert third["Idempotent-Replayed"] == "true" and third.json()["id"] == again.json()["id"]
    assert IdempotencyRecord.objects.get(key="k").response_body["id"] == again.json()["id"]


def test_an_expired_key_with_another_body_is_a_new_create_not_a_reuse(son, neighborhood):
    api = Api(son)
    api.post(BENEFICIARIES, {**ELDER, "address": "甲"}, headers={"Idempotency-Key": "k"})
    _age("k", REPLAY_WINDOW + timedelta(minutes=1))
    other = api.post(BENEFICIARIES, {**ELDER, "name": "李阿公", "address": "乙"}, headers={"Idempotency-Key": "k"})
    assert other.status_code == 201 and other.json()["name"] == "李阿公"


def test_an_expired_one_tap_key_creates_a_second_request(son, neighborhood, catalog):
    """The one-tap create writes its record last, in its own transaction: same rule."""
    elder = f.BeneficiaryFactory(owner=son, neighborhood=neighborhood, is_default=True)
    api = Api(son)
    body = _meal_body(elder.pk)
    first = api.post(REQUESTS, body, headers={"Idempotency-Key": "tap"})
    assert first.status_code == 201, first.content
    _age("tap", REPLAY_WINDOW + timedelta(minutes=1))
    again = api.post(REQUESTS, body, headers={"Idempotency-Key": "tap"})
    assert again.status_code == 201 and "Idempotent-Replayed" not in again
    assert ServiceRequest.objects.count() == 2 and IdempotencyRecord.objects.get(key="tap").response_body["id"] == again.json()["id"]


def test_the_hourly_purge_deletes_expired_records_only(son, neighborhood):
    assert any(job.task_path == "core.tasks.purge_idempotency_records" for job in periodic_jobs())
    api = Api(son)
    for key in ("old-1", "old-2", "fresh"):
        assert api.post(BENEFICIARIES, {**ELDER, "name": key}, headers={"Idempotency-Key": key}).status_code == 201
    _age("old-1", REPLAY_WINDOW + timedelta(seconds=1))
    _age("old-2", timedelta(days=40))
    result = purge_idempotency_records.enqueue()  # the test backend runs it at once
    assert result.return_value == 2
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["fresh"]
    assert purge_idempotency_records.enqueue().return_value == 0


def test_erasure_deletes_the_persons_records_and_only_theirs(son, neighborhood):
    neighbour = f.resident(neighborhood)
    _consent(neighbour, "address")
    Api(neighbour).post(BENEFICIARIES, {**ELDER, "address": "邻居的地址"}, headers={"Idempotency-Key": "k"})
    api = Api(son)
    assert api.post(BENEFICIARIES, {**ELDER, "address": "宝林一村5号楼301室"}, headers={"Idempotency-Key": "k"}).status_code == 201
    assert api.get("/api/v1/me/export").json()["sections"]["idempotency"]["idempotency_records"][0]["key"] == "k"

    assert api.delete("/api/v1/me").status_code == 204

    assert not IdempotencyRecord.objects.filter(user=son).exists()
    assert IdempotencyRecord.objects.filter(user=neighbour).count() == 1


def _raw_bodies() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT response_body FROM core_idempotencyrecord ORDER BY id")
        return [row[0] for row in cursor.fetchall()]


def test_key_rotation_re_encrypts_the_stored_responses(neighborhood, settings):
    settings.FIELD_ENCRYPTION_KEYS = [KEY_A]
    son = f.resident(neighborhood)
    _consent(son, "address", "health")
    api = Api(son)
    body = {**ELDER, "address": "宝林一村5号楼301室", "health_notes": "高血压"}
    first = api.post(BENEFICIARIES, body, headers={"Idempotency-Key": "k"})
    assert all(v.startswith(crypto.PREFIX) and "301室" not in v for v in _raw_bodies())

    settings.FIELD_ENCRYPTION_KEYS = [KEY_B, KEY_A]
    out = io.StringIO()
    call_command("rotate_field_keys", stdout=out)
    assert "core.IdempotencyRecord(response_body)" in out.getvalue()
    settings.FIELD_ENCRYPTION_KEYS = [KEY_B]
    assert all(crypto.is_current(v) for v in _raw_bodies())
    # With the old key retired the record still replays the first answer.
    again = api.post(BENEFICIARIES, body, headers={"Idempotency-Key": "k"})
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()


def test_the_fingerprint_is_a_keyed_hash_a_room_cannot_be_searched_from(neighborhood, other_neighborhood):
    """A sha256 of {"room": ...} could be brute-forced over all rooms; the HMAC cannot without the key."""
    import hashlib
    import json

    body = {"neighborhood": other_neighborhood.pk, "building": "5号楼", "room": "301室"}
    applicant = f.UserFactory()
    assert Api(applicant).post("/api/v1/memberships", body, headers={"Idempotency-Key": "k"}).status_code == 201
    stored = IdempotencyRecord.objects.get(user=applicant).fingerprint
    canonical = json.dumps(body, sort_keys=True, default=str, ensure_ascii=False)
    assert stored != hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    assert stored == crypto.blind_index(canonical, purpose="idempotency-fingerprint")


def test_a_response_written_in_clear_by_the_previous_release_is_read_and_rotation_encrypts_it(son):
    """During a rolling restart a process of the previous release may still write a record in
    clear JSON: it must replay, and `rotate_field_keys` must leave it encrypted."""
    record = IdempotencyRecord.objects.create(user=son, key="old", scope="s", fingerprint="f", status_code=201)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE core_idempotencyrecord SET response_body = %s WHERE id = %s", ['{"address": "宝林一村5号楼301室"}', record.pk]
        )
    assert IdempotencyRecord.objects.get(pk=record.pk).response_body == {"address": "宝林一村5号楼301室"}
    call_command("rotate_field_keys", stdout=io.StringIO())
    assert [v.startswith(crypto.PREFIX) for v in _raw_bodies()] == [True]
    assert IdempotencyRecord.objects.get(pk=record.pk).response_body == {"address": "宝林一村5号楼301室"}
