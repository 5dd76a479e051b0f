"""User text, cleaned once, where the API reads a body (core.parsers).

Every string a client sends in a JSON or multipart body (titles, bodies, comments,
notes, names, reasons) loses what a reader cannot see but a renderer obeys:

- control characters (C0, DEL, C1) except newline and tab; CR LF becomes LF;
- zero-width characters U+200B–U+200D, U+2060 (word joiner), U+FEFF (BOM);
- bidi controls U+202A–U+202E, U+2066–U+2069 and the marks U+200E, U+200F, U+061C,
  which can make "转账给张三" display as something else;

then is put in Unicode NFC, so that "é" typed two ways is one string for search,
uniqueness and the content check. A field that is empty after this is empty: DRF's
CharField refuses it with code `blank` unless the field allows blank.

Cleaning at the parser rather than in each serializer field means no serializer can
forget it. The cost is that ZWJ emoji sequences (👨‍👩‍👧) fall apart into their parts.
"""

from __future__ import annotations

import unicodedata
from typing import Any

_CONTROL = [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0D, 0x20), 0x7F, *range(0x80, 0xA0)]
_ZERO_WIDTH = [0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF]
_BIDI = [*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C]
_INVISIBLE = dict.fromkeys([*_CONTROL, *_ZERO_WIDTH, *_BIDI])


def clean_user_text(value: str) -> str:
    """`value` without invisible and direction-changing characters, in NFC."""
    cleaned = value.replace("\r\n", "\n").translate(_INVISIBLE)
    return unicodedata.normalize("NFC", cleaned)


def clean_strings(data: Any) -> Any:
    """Every string inside parsed JSON, cleaned; keys, numbers and structure untouched."""
    if isinstance(data, str):
        return clean_user_text(data)
    if isinstance(data, dict):
        return {key: clean_strings(value) for key, value in data.items()}
    if isinstance(data, list):
        return [clean_strings(value) for value in data]
    return data
