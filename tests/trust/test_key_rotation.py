"""Key rotation: after `rotate_field_keys` the old key can go, and a dump shows no plaintext."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from core import crypto
from residents.models import Beneficiary, Membership, User
from tests import factories as f
from tests.trust.dump import dump_database, plaintexts_found

KEY_A = "YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE="
KEY_B = "YmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmI="

PHONE = "13812345678"
ELDER_PHONE = "13900002222"
ADDRESS = "友谊路街道宝林一村5号楼301室"
HEALTH = "阿尔茨海默病早期，青霉素过敏"
ROOM = "5号楼301室"


@pytest.fixture
def personas(db, settings):
    settings.FIELD_ENCRYPTION_KEYS = [KEY_A]
    neighborhood = f.NeighborhoodFactory()
    zhangsan = f.UserFactory(openid="zhangsan", phone=PHONE)
    f.MembershipFactory(user=zhangsan, neighborhood=neighborhood, room=ROOM)
    f.BeneficiaryFactory(owner=zhangsan, neighborhood=neighborhood, phone=ELDER_PHONE, address=ADDRESS, health_notes=HEALTH)
    return zhangsan


def _raw(table: str, column: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} ORDER BY id")
        return [r[0] for r in cursor.fetchall()]


def _rotate(*args) -> str:
    out = io.StringIO()
    call_command("rotate_field_keys", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_every_field_is_readable_with_only_the_new_key_after_rotation(personas, settings):
    settings.FIELD_ENCRYPTION_KEYS = [KEY_B, KEY_A]
    _rotate("--batch-size", "1")
    settings.FIELD_ENCRYPTION_KEYS = [KEY_B]
    assert User.objects.get(openid="zhangsan").phone == PHONE
    assert Membership.objects.get(user=personas).room == ROOM
    elder = Beneficiary.objects.get(owner=personas)
    assert (elder.phone, elder.address, elder.health_notes) == (ELDER_PHONE, ADDRESS, HEALTH)


def test_without_rotation_dropping_the_old_key_loses_the_data(personas, settings):
    settings.FIELD_ENCRYPTION_KEYS = [KEY_B]
    with pytest.raises(ValueError):
        User.objects.get(openid="zhangsan")


def test_a_raw_dump_holds_no_plaintext_before_or_after_rotation(personas, settings):
    needles = [PHONE, ELDER_PHONE, ADDRESS, HEALTH, ROOM]
    assert plaintexts_found(needles) == []
    settings.FIELD_ENCRYPTION_KEYS = [KEY_B, KEY_A]
    _rotate()
    assert plaintexts_found(needles) == []
    # The dump is not trivially empty: the ciphertexts are there.
    assert dump_database().count(crypto.PREFIX) >= 5


def test_dry_run_changes_nothing(personas, settings):
    before = _raw("residents_beneficiary", "health_notes")
    settings.FIELD_ENCRYPTION_KEYS = [KEY_B, KEY_A]
    output = _rotate("--dry-run")
    assert "would rewrite 5 values" in output
    assert _raw("residents_beneficiary", "health_notes") == before


def test_a_second_run_finds_nothing_to_do(personas, settings):
    settings.FIELD_ENCRYPTION_KEYS = [KEY_B, KEY_A]
    assert "rewrote 5 values" in _rotate()
    after_first = _raw("residents_user", "phone")
    assert "rewrote 0 values" in _rotate()
    assert _raw("residents_user", "phone") == after_first


def test_an_interrupted_run_resumes(personas, settings):
    """Rows rotated before a crash are skipped, the rest are done, nothing is lost."""
    f.UserFactory(phone="13700000001")
    f.UserFactory(phone="13700000002")
    settings.FIELD_ENCRYPTION_KEYS = [KEY_B, KEY_A]
    first = User.objects.order_by("id").first()
    # What a crash after the first batch leaves behind: one row on the new key, others on the old.
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone FROM residents_user WHERE id = %s", [first.pk])
        stored = cursor.fetchone()[0]
        cursor.execute("UPDATE residents_user SET phone = %s WHERE id = %s", [crypto.rotate(stored), first.pk])
    output = _rotate("--batch-size", "2")
    assert "1 already current" in output
    settings.FIELD_ENCRYPTION_KEYS = [KEY_B]
    assert sorted(u.phone for u in User.objects.all() if u.phone) == sorted([PHONE, "13700000001", "13700000002"])


def test_plaintext_left_in_an_encrypted_column_gets_encrypted(personas, settings):
    with connection.cursor() as cursor:
        cursor.execute("UPDATE residents_user SET phone = %s WHERE id = %s", ["13611112222", personas.pk])
    assert plaintexts_found(["13611112222"]) == ["13611112222"]
    output = _rotate()
    assert "encrypted 1 plaintext values" in output
    assert plaintexts_found(["13611112222"]) == []
    assert User.objects.get(pk=personas.pk).phone == "13611112222"


def test_a_value_no_key_opens_is_reported_and_the_rest_still_rotate(personas, settings):
    stranger = "enc1:" + crypto.keyring(("Y2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2M=",)).encrypt(b"x")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE residents_membership SET room = %s", [stranger])
    settings.FIELD_ENCRYPTION_KEYS = [KEY_B, KEY_A]
    with pytest.raises(CommandError, match="1 unreadable"):
        _rotate()
    settings.FIELD_ENCRYPTION_KEYS = [KEY_B]
    assert User.objects.get(pk=personas.pk).phone == PHONE


def test_columns_are_discovered_on_every_installed_model():
    found = {model._meta.label: sorted(f.name for f in fields) for model, fields in crypto.encrypted_fields()}
    assert found["residents.User"] == ["phone"]
    assert found["residents.Membership"] == ["room"]
    assert found["residents.Beneficiary"] == ["address", "health_notes", "phone"]
