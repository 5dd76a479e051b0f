"""The ciphers behind encrypted fields, one per algorithm, and the key list they come from.

`FIELD_ENCRYPTION_KEYS` lists keys newest first; an entry names its algorithm:

- `<urlsafe-base64 32 bytes>` or `fernet:<…>`: Fernet (AES-128-CBC + HMAC-SHA256), the default;
- `sm4:<urlsafe-base64 16 bytes>`: SM4-GCM (GB/T 32907 block cipher in an AEAD mode, 国密),
  through `cryptography`'s OpenSSL build, the library already pinned for Fernet.

The newest key's algorithm is the one new values are written with: switching algorithm is
adding a key of the other kind in front and running `manage.py rotate_field_keys`.

What a stored value looks like after `core.crypto.PREFIX` (`enc1:`):

- a bare Fernet token (`gAAAAA…`), as every release wrote it: no key id, the Fernet keys are
  tried in turn (MultiFernet). New Fernet values keep this form so a process of the previous
  release can still read them during a rolling restart;
- `sm4:<kid>:<urlsafe-base64 of nonce(12) ‖ ciphertext ‖ tag(16)>`: the key id (`kid`, 8 hex
  characters of SHA-256 over the key) picks the key; the header `sm4:<kid>` is authenticated
  data, so neither it nor a byte of the ciphertext can change without decryption failing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

FERNET = "fernet"
SM4 = "sm4"
ALGORITHMS = (FERNET, SM4)
KEY_BYTES = {FERNET: 32, SM4: 16}
NONCE_BYTES = 12
TAG_BYTES = 16


class UndecryptableValue(ValueError):
    """No configured key opens this value, or it was altered."""


@dataclass(frozen=True)
class FieldKey:
    algorithm: str
    secret: bytes
    raw: str  # the urlsafe-base64 text as configured (Fernet takes it as is)

    @property
    def kid(self) -> str:
        return hashlib.sha256(b"stq-field-key:" + self.algorithm.encode() + b":" + self.secret).hexdigest()[:8]


def parse_key(entry: str) -> FieldKey:
    """One FIELD_ENCRYPTION_KEYS entry → FieldKey; ValueError with the reason otherwise."""
    algorithm, sep, raw = entry.strip().partition(":")
    if not sep:
        algorithm, raw = FERNET, entry.strip()
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algorithm!r} (known: {', '.join(ALGORITHMS)})")
    try:
        secret = base64.urlsafe_b64decode(raw.encode("ascii"))
    except (ValueError, binascii.Error):
        secret = b""
    if len(secret) != KEY_BYTES[algorithm]:
        raise ValueError(f"a {algorithm} key is urlsafe-base64 of {KEY_BYTES[algorithm]} random bytes")
    return FieldKey(algorithm, secret, raw)


@lru_cache(maxsize=8)
def keyring(entries: tuple[str, ...]) -> Keyring:
    return Keyring([parse_key(e) for e in entries])


class Keyring:
    """The configured keys: the first writes, every one reads."""

    def __init__(self, keys: list[FieldKey]):
        if not keys:
            raise ValueError("FIELD_ENCRYPTION_KEYS is empty")
        self.current = keys[0]
        fernet_keys = [k for k in keys if k.algorithm == FERNET]
        self._fernet = MultiFernet([Fernet(k.raw) for k in fernet_keys]) if fernet_keys else None
        self._newest_fernet = Fernet(self.current.raw) if self.current.algorithm == FERNET else None
        self._sm4 = {k.kid: k for k in keys if k.algorithm == SM4}

    def encrypt(self, plaintext: bytes) -> str:
        if self.current.algorithm == FERNET:
            return self._newest_fernet.encrypt(plaintext).decode("ascii")
        return _sm4_seal(self.current, plaintext)

    def decrypt(self, body: str) -> bytes:
        if body.startswith(SM4 + ":"):
            _, kid, payload = _split_sm4(body)
            key = self._sm4.get(kid)
            if key is None:
                raise UndecryptableValue(f"no SM4 key with id {kid} in FIELD_ENCRYPTION_KEYS")
            return _sm4_open(key, payload)
        if self._fernet is None:
            raise UndecryptableValue("a Fernet value, and FIELD_ENCRYPTION_KEYS holds no Fernet key")
        try:
            return self._fernet.decrypt(body.encode("ascii"))
        except (InvalidToken, UnicodeEncodeError) as exc:
            raise UndecryptableValue("no FIELD_ENCRYPTION_KEYS entry can decrypt this value") from exc

    def is_current(self, body: str) -> bool:
        """Written with the newest key: rotation has nothing to do."""
        if self.current.algorithm == SM4:
            return body.startswith(f"{SM4}:{self.current.kid}:")
        if body.startswith(SM4 + ":"):
            return False
        try:
            self._newest_fernet.decrypt(body.encode("ascii"))
        except (InvalidToken, UnicodeEncodeError):
            return False
        return True


def _header(key: FieldKey) -> str:
    return f"{SM4}:{key.kid}:"


def _split_sm4(body: str) -> tuple[str, str, str]:
    parts = body.split(":", 2)
    if len(parts) != 3:
        raise UndecryptableValue("malformed SM4 value")
    return parts[0], parts[1], parts[2]


def _sm4_seal(key: FieldKey, plaintext: bytes) -> str:
    nonce = os.urandom(NONCE_BYTES)
    encryptor = Cipher(algorithms.SM4(key.secret), modes.GCM(nonce)).encryptor()
    encryptor.authenticate_additional_data(_header(key).encode("ascii"))
    sealed = nonce + encryptor.update(plaintext) + encryptor.finalize() + encryptor.tag
    return _header(key) + base64.urlsafe_b64encode(sealed).decode("ascii")


def _sm4_open(key: FieldKey, payload: str) -> bytes:
    try:
        sealed = base64.urlsafe_b64decode(payload.encode("ascii"))
    except (ValueError, binascii.Error) as exc:
        raise UndecryptableValue("malformed SM4 value") from exc
    if len(sealed) < NONCE_BYTES + TAG_BYTES:
        raise UndecryptableValue("malformed SM4 value")
    nonce, body, tag = sealed[:NONCE_BYTES], sealed[NONCE_BYTES:-TAG_BYTES], sealed[-TAG_BYTES:]
    decryptor = Cipher(algorithms.SM4(key.secret), modes.GCM(nonce, tag)).decryptor()
    decryptor.authenticate_additional_data(_header(key).encode("ascii"))
    try:
        return decryptor.update(body) + decryptor.finalize()
    except InvalidTag as exc:
        raise UndecryptableValue("SM4 value failed authentication (altered, or another key)") from exc
