"""The check the issue names: load the demo, dump the database, search for the personas' phones."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from core import crypto
from residents import demo
from residents.models import Beneficiary, User
from tests.trust.dump import plaintexts_found

# Rooms like "301室" are too short to search for without false hits in public text.
MIN_NEEDLE = 5


def _sensitive_values() -> tuple[list[str], list[str]]:
    """Decrypted phones, and every other encrypted value, of every model that has some."""
    phones, others = [], []
    for model, fields in crypto.encrypted_fields():
        for row in model._default_manager.all().only("pk", *[fld.name for fld in fields]):
            for fld in fields:
                value = getattr(row, fld.name)
                if not value or not isinstance(value, str):  # an EncryptedJSONField holds a dict
                    continue
                (phones if "phone" in fld.name else others).append(value)
    return phones, [v for v in others if len(v) >= MIN_NEEDLE]


@pytest.mark.slow
def test_demo_database_dump_holds_no_persona_phone_in_plaintext(db):
    call_command("load_demo", stdout=io.StringIO())
    seeded = [User.objects.get(openid=openid).phone for openid in demo.PHONES]
    # The seeded personas really carry the demo's numbers, so the search below means something.
    assert seeded == list(demo.PHONES.values())
    elder = Beneficiary.objects.get(owner__openid="zhangsan", name="王阿婆")
    assert (elder.phone, elder.address, elder.health_notes) == (demo.ELDER_PHONE, demo.ELDER_ADDRESS, demo.ELDER_HEALTH_NOTES)
    needles = [*demo.PHONES.values(), demo.ELDER_PHONE, demo.ELDER_ADDRESS, demo.ELDER_HEALTH_NOTES]

    assert plaintexts_found(needles) == []
    # And every other encrypted value the demo apps seeded (requests' addresses, rooms...).
    phones, others = _sensitive_values()
    assert set(demo.PHONES.values()) <= set(phones)
    assert plaintexts_found(phones) == []
    assert plaintexts_found(others) == []
    # Also after a key rotation the dump stays clean.
    call_command("rotate_field_keys", stdout=io.StringIO())
    assert plaintexts_found(needles + phones + others) == []
