"""Field encryption with rotating keys (FIELD_ENCRYPTION_KEYS, newest first).

Values are written with the newest key, Fernet (AES-128-CBC + HMAC-SHA256) or SM4-GCM (国密)
by the key's own prefix (core/field_ciphers.py has the formats); any listed key decrypts, so a
key can be added first and the old one dropped after `manage.py rotate_field_keys` has
re-encrypted every row. Rotation between algorithms is the same procedure.
"""

from __future__ import annotations

import hashlib
import hmac
import json

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from core.field_ciphers import Keyring, UndecryptableValue, keyring

PREFIX = "enc1:"

__all__ = ["PREFIX", "UndecryptableValue", "decrypt", "encrypt", "is_current", "keys", "rotate"]


def keys() -> Keyring:
    return keyring(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return PREFIX + keys().encrypt(plaintext.encode("utf-8"))


def decrypt(stored: str) -> str:
    """The plaintext; UndecryptableValue (a ValueError) when no key opens it or it was altered."""
    if not stored.startswith(PREFIX):
        raise ValueError("value is not an encrypted field token")
    return keys().decrypt(stored[len(PREFIX):]).decode("utf-8")


def rotate(stored: str) -> str:
    """Re-encrypt with the newest key (and its algorithm)."""
    return encrypt(decrypt(stored))


def is_current(stored: str) -> bool:
    """True when the value was written with the newest key: rotation has nothing to do."""
    return stored.startswith(PREFIX) and keys().is_current(stored[len(PREFIX):])


def encrypted_fields() -> list[tuple[type[models.Model], list[EncryptedTextField]]]:
    """Every model with EncryptedTextField columns, each column once (no proxies, no inherited copies)."""
    from django.apps import apps

    found = []
    for model in apps.get_models():
        opts = model._meta
        if opts.proxy or not opts.managed:
            continue
        fields = [f for f in opts.local_concrete_fields if isinstance(f, EncryptedTextField)]
        if fields:
            found.append((model, fields))
    return found


def blind_index(value: str, *, purpose: str) -> str:
    """A keyed hash for equality lookups on encrypted data (e.g. one household).

    Keyed with SECRET_KEY, not the rotating field keys, so rotation leaves it stable.
    """
    key = hashlib.sha256(f"{settings.SECRET_KEY}:{purpose}".encode()).digest()
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


class EncryptedTextField(models.TextField):
    """A text column that is only ever stored encrypted. Supports no lookups but isnull."""

    description = "Encrypted text"

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt(value)

    def to_python(self, value):
        if value is None or not isinstance(value, str) or not value.startswith(PREFIX):
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(str(value))

    def get_lookup(self, lookup_name):
        if lookup_name != "isnull":
            return None
        return super().get_lookup(lookup_name)


class EncryptedJSONField(EncryptedTextField):
    """A JSON value stored as one encrypted token (e.g. a response that may name anyone's phone).

    A subclass of EncryptedTextField, so `rotate_field_keys` and the dump tests find it like any
    other encrypted column. Serialised with DjangoJSONEncoder (datetimes, decimals become strings),
    as JSONField(encoder=DjangoJSONEncoder) did. None stays NULL.
    """

    description = "Encrypted JSON"

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return None
        if not value.startswith(PREFIX):
            # Written in clear by a process of the release before this column was encrypted
            # (a rolling restart overlaps them): readable, and `rotate_field_keys` encrypts it.
            return json.loads(value)
        return json.loads(decrypt(value))

    def to_python(self, value):
        if isinstance(value, str) and value.startswith(PREFIX):
            return json.loads(decrypt(value))
        return value

    def get_prep_value(self, value):
        if value is None:
            return None
        return encrypt(json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":")))


def mask_phone(phone: str | None) -> str:
    if not phone:
        return ""
    digits = phone.strip()
    if len(digits) >= 7:
        return f"{digits[:3]}****{digits[-4:]}"
    return "*" * len(digits)


def mask_text(value: str | None, keep: int = 6) -> str:
    """Addresses: keep the start (street, compound), hide the rest (building, room)."""
    if not value:
        return ""
    if len(value) <= keep:
        return value[:1] + "*" * (len(value) - 1)
    return value[:keep] + "****"
