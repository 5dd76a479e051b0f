"""Request body parsers that keep every bad body inside the error shape.

DRF's JSONParser hands the body to `json.loads`, which recurses once per nesting level:
`[[[[…` 100,000 deep raised RecursionError, a 500. `BoundedJSONParser` counts the depth
before parsing and refuses anything deeper than MAX_JSON_DEPTH (400 `json_too_deep`);
no request this API takes is more than a few levels deep. Bad UTF-8 and malformed JSON
stay ParseError (400 `malformed_request`) as before.

Both hand on every string cleaned by core.text (invisible and bidi characters out, NFC).

`SafeMultiPartParser` turns Django's multipart errors (a truncated body, a missing
boundary, a client that hangs up mid-upload) into ParseError too, so they reach the one
exception handler (core.exceptions) instead of escaping as a bare 400 or a 500.

No maintained library bounds JSON depth for DRF (orjson and ujson fail closed on depth
but give no limit to set, and swapping the decoder changes number parsing); the
bracket count below is a dozen lines.
"""

from __future__ import annotations

import codecs
import re
from itertools import accumulate
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import QueryDict, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils import json

from core.errors import InvalidInput
from core.text import clean_strings, clean_user_text

DEFAULT_MAX_JSON_DEPTH = 32

# A JSON string, closed or not: brackets inside text do not nest. Possessive, and the
# closing quote optional, so the substitution is linear: an unclosed string runs to the
# end once instead of being retried from every later quote.
_STRING = re.compile(r'"(?:[^"\\]++|\\.)*+"?', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]++")
_DEPTH_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def max_json_depth() -> int:
    return int(getattr(settings, "MAX_JSON_DEPTH", DEFAULT_MAX_JSON_DEPTH))


def json_depth_exceeds(text: str, limit: int) -> bool:
    """True when arrays/objects in `text` nest deeper than `limit`. Strings, then everything
    but brackets, are dropped by the regex engine; what is left is summed in C. Linear in
    the body, which the body limit caps (2 MB: ≤ 0.5 s on this VM)."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    if brackets.count("[") + brackets.count("{") <= limit:
        return False
    # The running depth after each bracket; map/accumulate/max keep the loop in C.
    return max(accumulate(map(_DEPTH_STEP.__getitem__, brackets))) > limit


class BoundedJSONParser(parsers.JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict | None = None) -> Any:
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            raw = _read(stream)
            text = codecs.decode(raw, encoding)
        except UnicodeDecodeError:
            raise ParseError("JSON parse error - body is not valid UTF-8") from None
        limit = max_json_depth()
        # Before json.loads, which recurses once per level (RecursionError, a 500, at ~1,000).
        if json_depth_exceeds(text, limit):
            raise InvalidInput("json_too_deep", f"请求内容嵌套过深（上限 {limit} 层）", max_depth=limit)
        try:
            parse_constant = json.strict_constant if self.strict else None
            data = json.loads(text, parse_constant=parse_constant)
        except (ValueError, RecursionError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        return clean_strings(data)


class SafeMultiPartParser(parsers.MultiPartParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict | None = None) -> Any:
        try:
            parsed = super().parse(stream, media_type, parser_context)
        except (RequestDataTooBig, ParseError):
            raise
        except (MultiPartParserError, UnreadablePostError, UnicodeDecodeError, ValueError) as exc:
            raise ParseError(f"Multipart form parse error - {exc}") from None
        fields = QueryDict(mutable=True)
        for key, values in parsed.data.lists():
            fields.setlist(key, [clean_user_text(value) for value in values])
        fields._mutable = False
        return parsers.DataAndFiles(fields, parsed.files)


def _read(stream: Any) -> bytes:
    if stream is None:
        return b""
    try:
        return stream.read()
    except UnreadablePostError:
        raise ParseError("request body could not be read") from None
