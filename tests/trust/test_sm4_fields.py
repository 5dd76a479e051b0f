"""国密: field encryption with SM4-GCM, and rotation between Fernet and SM4 over real rows."""

from __future__ import annotations

import base64
import io

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.core.management import call_command
from django.db import connection

from core import crypto, field_ciphers
from residents.actions import do_apply_membership, household_key
from residents.models import Beneficiary, Membership, User
from tests import factories as f
from tests.trust.dump import plaintexts_found

FERNET_KEY = "YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE="
SM4_KEY = "sm4:" + base64.urlsafe_b64encode(b"0123456789abcdef").decode()
SM4_KEY_2 = "sm4:" + base64.urlsafe_b64encode(b"fedcba9876543210").decode()
FERNET_KEY_2 = "YmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmI="

PHONE = "13812345678"
ELDER_PHONE = "13900002222"
ADDRESS = "友谊路街道宝林一村5号楼301室"
HEALTH = "阿尔茨海默病早期，青霉素过敏"


def test_the_cipher_is_sm4_by_the_standard_s_own_example():
    """GB/T 32907-2016 appendix A, example 1: the library's SM4 is the standard's SM4."""
    key = bytes.fromhex("0123456789abcdeffedcba9876543210")
    encryptor = Cipher(algorithms.SM4(key), modes.ECB()).encryptor()
    assert (encryptor.update(key) + encryptor.finalize()).hex() == "681edf34d206965e86b3e94f536e4246"


def test_round_trip_under_sm4_leaves_no_plaintext_and_names_the_key(settings):
    settings.FIELD_ENCRYPTION_KEYS = [SM4_KEY]
    stored = crypto.encrypt(HEALTH)
    kid = field_ciphers.parse_key(SM4_KEY).kid
    assert stored.startswith(f"enc1:sm4:{kid}:") and HEALTH not in stored
    assert crypto.decrypt(stored) == HEALTH
    assert crypto.encrypt(HEALTH) != stored  # a fresh nonce each time
    assert crypto.is_current(stored)


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda s: s[:-6] + ("A" if s[-6] != "A" else "B") + s[-5:], id="ciphertext-byte"),
        pytest.param(lambda s: s.replace(s.split(":")[2], field_ciphers.parse_key(SM4_KEY_2).kid), id="key-id-swapped"),
        pytest.param(lambda s: s[:-8], id="truncated"),
    ],
)
def test_a_tampered_sm4_value_is_refused(settings, tamper):
    settings.FIELD_ENCRYPTION_KEYS = [SM4_KEY, SM4_KEY_2]
    stored = crypto.encrypt(PHONE)
    with pytest.raises(crypto.UndecryptableValue):
        crypto.decrypt(tamper(stored))


def test_a_tampered_fernet_value_is_refused(settings):
    settings.FIELD_ENCRYPTION_KEYS = [FERNET_KEY]
    stored = crypto.encrypt(PHONE)
    with pytest.raises(crypto.UndecryptableValue):
        crypto.decrypt(stored[:-6] + ("A" if stored[-6] != "A" else "B") + stored[-5:])


def test_fernet_values_keep_the_form_the_previous_release_reads(settings):
    """A rolling restart overlaps releases: a Fernet write is still a bare Fernet token."""
    settings.FIELD_ENCRYPTION_KEYS = [FERNET_KEY, SM4_KEY]
    stored = crypto.encrypt(PHONE)
    assert stored.startswith("enc1:gAAAAA")
    from cryptography.fernet import Fernet

    assert Fernet(FERNET_KEY).decrypt(stored[len("enc1:"):].encode()) == PHONE.encode()


@pytest.mark.parametrize(
    "entry", ["sm4:" + base64.urlsafe_b64encode(b"x" * 32).decode(), "aes:" + FERNET_KEY, "sm4:not base64!", "short"]
)
def test_a_malformed_key_is_refused_with_its_reason(entry):
    """config/settings.py turns this ValueError into ImproperlyConfigured naming the entry."""
    with pytest.raises(ValueError, match="algorithm|random bytes"):
        field_ciphers.parse_key(entry)


@pytest.fixture
def residents(db, settings):
    settings.FIELD_ENCRYPTION_KEYS = [FERNET_KEY]
    neighborhood = f.NeighborhoodFactory()
    zhangsan = f.UserFactory(openid="zhangsan", phone=PHONE)
    membership, _ = do_apply_membership(actor=zhangsan, neighborhood=neighborhood, building="5号楼", room="301室")
    f.BeneficiaryFactory(owner=zhangsan, neighborhood=neighborhood, phone=ELDER_PHONE, address=ADDRESS, health_notes=HEALTH)
    for n in range(4):
        f.UserFactory(phone=f"1370000000{n}")
    return zhangsan, neighborhood, membership


def _raw(table: str, column: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL AND {column} <> '' ORDER BY id")
        return [r[0] for r in cursor.fetchall()]


def _rotate() -> str:
    out = io.StringIO()
    call_command("rotate_field_keys", "--batch-size", "2", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def _everything_reads(zhangsan, neighborhood, membership):
    assert User.objects.get(pk=zhangsan.pk).phone == PHONE
    assert sorted(u.phone for u in User.objects.all() if u.phone) == sorted(
        [PHONE] + [f"1370000000{n}" for n in range(4)]
    )
    elder = Beneficiary.objects.get(owner=zhangsan)
    assert (elder.phone, elder.address, elder.health_notes) == (ELDER_PHONE, ADDRESS, HEALTH)
    assert Membership.objects.get(pk=membership.pk).room == "301室"
    # The blind index is keyed apart from the field keys: lookups by it survive any rotation.
    key = household_key(neighborhood.pk, "5号楼", "301室")
    assert list(Membership.objects.filter(household_key=key)) == [membership]
    again, created = do_apply_membership(actor=zhangsan, neighborhood=neighborhood, building="5号楼", room="301室")
    assert (again.pk, created) == (membership.pk, False)


def test_rotation_fernet_to_sm4_and_back_over_real_rows(residents, settings):
    needles = [PHONE, ELDER_PHONE, ADDRESS, HEALTH]
    # Fernet → SM4: the SM4 key in front, rotate, then the Fernet key goes.
    settings.FIELD_ENCRYPTION_KEYS = [SM4_KEY, FERNET_KEY]
    assert "rewrote 9 values" in _rotate()
    sm4_kid = field_ciphers.parse_key(SM4_KEY).kid
    assert all(v.startswith(f"enc1:sm4:{sm4_kid}:") for v in _raw("residents_user", "phone"))
    assert all(v.startswith("enc1:sm4:") for v in _raw("residents_beneficiary", "health_notes"))
    assert plaintexts_found(needles) == []
    assert "rewrote 0 values" in _rotate()  # idempotent: a second run finds everything current
    settings.FIELD_ENCRYPTION_KEYS = [SM4_KEY]
    _everything_reads(*residents)

    # SM4 → another SM4 key: the key id tells them apart.
    settings.FIELD_ENCRYPTION_KEYS = [SM4_KEY_2, SM4_KEY]
    assert "rewrote 9 values" in _rotate()
    settings.FIELD_ENCRYPTION_KEYS = [SM4_KEY_2]
    _everything_reads(*residents)

    # And back to Fernet.
    settings.FIELD_ENCRYPTION_KEYS = [FERNET_KEY_2, SM4_KEY_2]
    assert "rewrote 9 values" in _rotate()
    assert all(v.startswith("enc1:gAAAAA") for v in _raw("residents_user", "phone"))
    settings.FIELD_ENCRYPTION_KEYS = [FERNET_KEY_2]
    _everything_reads(*residents)
    assert plaintexts_found(needles) == []


def test_dropping_the_sm4_key_before_rotation_loses_the_data(residents, settings):
    settings.FIELD_ENCRYPTION_KEYS = [SM4_KEY, FERNET_KEY]
    _rotate()
    settings.FIELD_ENCRYPTION_KEYS = [FERNET_KEY]
    with pytest.raises(crypto.UndecryptableValue, match="no SM4 key"):
        User.objects.get(pk=residents[0].pk)
