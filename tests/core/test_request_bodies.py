"""Hostile request bodies answer in the one error shape, never a 500 or an empty 400."""

from __future__ import annotations

import pytest

from core.parsers import DEFAULT_MAX_JSON_DEPTH, json_depth_exceeds
from tests import factories as f
from tests.conftest import assert_error

LOGIN = "/api/v1/auth/wechat"
pytestmark = pytest.mark.django_db


def test_json_nested_100000_deep_is_400_on_the_anonymous_login(anon):
    body = "[" * 100_000 + "]" * 100_000
    error = assert_error(anon.raw_post(LOGIN, body), 400, "json_too_deep")
    assert error["detail"] == {"max_depth": DEFAULT_MAX_JSON_DEPTH}


def test_json_nested_objects_past_the_limit_are_400_for_a_signed_in_user(api_for):
    body = '{"a":' * (DEFAULT_MAX_JSON_DEPTH + 1) + "1" + "}" * (DEFAULT_MAX_JSON_DEPTH + 1)
    assert_error(api_for(f.UserFactory()).raw_post("/api/v1/posts", body), 400, "json_too_deep")


def test_json_at_the_depth_limit_reaches_validation(anon):
    body = '{"code":' + "[" * (DEFAULT_MAX_JSON_DEPTH - 1) + "]" * (DEFAULT_MAX_JSON_DEPTH - 1) + "}"
    assert_error(anon.raw_post(LOGIN, body), 400, "invalid_input")


def test_brackets_inside_strings_do_not_count_as_nesting():
    text = '{"title": "' + "[{" * 100 + '\\"]", "x": [[1]]}'
    assert not json_depth_exceeds(text, 3)
    assert json_depth_exceeds("[[[[]]]]", 3)
    # An unclosed string must not make the scan quadratic (each quote retried to the end).
    assert not json_depth_exceeds('"\\"' * 200_000, 3)


def test_bad_utf8_json_is_400_malformed_request(anon):
    assert_error(anon.raw_post(LOGIN, b'{"code": "\xff\xfe"}'), 400, "malformed_request")


def test_multipart_without_a_boundary_is_400_in_the_error_shape(anon):
    body = b'--XX\r\nContent-Disposition: form-data; name="code"\r\n\r\nabc\r\n--XX--\r\n'
    assert_error(anon.raw_post(LOGIN, body, content_type="multipart/form-data"), 400, "malformed_request")


def test_multipart_with_a_malformed_boundary_is_400_on_image_upload(api_for):
    body = b"--\xff\r\n"
    response = api_for(f.UserFactory()).raw_post("/api/v1/images", body, content_type="multipart/form-data; boundary=\xff")
    assert_error(response, 400, "malformed_request")


class _CutOffBody:
    """A client that sends the start of its body and then drops the connection."""

    def __init__(self, start: bytes) -> None:
        self.start = start

    def read(self, size: int = -1) -> bytes:
        if self.start:
            chunk, self.start = self.start, b""
            return chunk
        raise OSError("connection reset by peer")

    def readline(self, size: int = -1) -> bytes:
        return self.read(size)


@pytest.mark.parametrize(
    ("content_type", "start"),
    [
        ("multipart/form-data; boundary=XX", b'--XX\r\nContent-Disposition: form-data; name="code"\r\n\r\nab'),
        ("application/json", b'{"code": "ab'),
    ],
)
def test_a_body_cut_off_mid_way_is_400_in_the_error_shape_on_the_login(anon, content_type, start):
    response = anon.client.generic(
        "POST", LOGIN, b"", content_type=content_type, CONTENT_LENGTH="4096", **{"wsgi.input": _CutOffBody(start)}
    )
    assert_error(response, 400, "malformed_request")
