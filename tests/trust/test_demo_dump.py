"""The check the issue names: load the demo, dump the database, search for the personas' phones."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from core import crypto
from residents.models import User
from tests import factories as f
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
                if not value:
                    continue
                (phones if "phone" in fld.name else others).append(value)
    return phones, [v for v in others if len(v) >= MIN_NEEDLE]


@pytest.mark.slow
def test_demo_database_dump_holds_no_persona_phone_in_plaintext(db):
    call_command("load_demo", stdout=io.StringIO())
    if not any(u.phone for u in User.objects.all()):
        # The residents demo does not seed phones yet: give the personas some, the way binding does.
        for i, openid in enumerate(["zhangsan", "lisi", "zhaoliu", "zhoubanzhu"]):
            user = User.objects.filter(openid=openid).first() or f.UserFactory(openid=openid)
            user.phone = f"1381234{i:04d}"
            user.save(update_fields=["phone"])
    phones, others = _sensitive_values()
    assert phones, "the demo should hold phone numbers to search for"
    assert plaintexts_found(phones) == []
    assert plaintexts_found(others) == []
    # Also after a key rotation the dump stays clean.
    call_command("rotate_field_keys", stdout=io.StringIO())
    assert plaintexts_found(phones + others) == []
