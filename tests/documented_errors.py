"""Every error a test sees must be one its OpenAPI operation lists.

`assert_error` (tests/conftest.py) calls `assert_documented` on each API error response, so
the suite's 500-odd error assertions hold the schema's per-operation error codes
(config/openapi_errors.py) to what the API really answers: a view that starts raising a code
the schema does not list fails the test that sees it.
"""

from __future__ import annotations

from functools import cache

from django.urls import Resolver404, resolve
from drf_spectacular.generators import SchemaGenerator


@cache
def documented() -> dict[tuple[object, str], dict[str, set[str]]]:
    """(view callback, METHOD) → {status: codes} for every operation of the schema."""
    generator = SchemaGenerator()
    schema = generator.get_schema(request=None, public=True)
    table = {}
    for path, _path_regex, method, callback in generator.endpoints:
        operation = schema["paths"].get(path, {}).get(method.lower())
        if operation is None:
            continue
        table[callback, method.upper()] = {
            status: set(response["content"]["application/json"]["schema"]["properties"]["error"]["properties"]["code"]["enum"])
            for status, response in operation["responses"].items()
            if status[0] in "45"
        }
    return table


def operation_errors(method: str, path: str) -> dict[str, set[str]] | None:
    try:
        match = resolve(path)
    except Resolver404:
        return None
    return documented().get((match.func, method.upper()))


def assert_documented(response, body: dict) -> None:
    request = getattr(response, "request", None)
    if not isinstance(request, dict) or not str(request.get("PATH_INFO", "")).startswith("/api/v1/"):
        return
    method, path = request.get("REQUEST_METHOD", "GET"), request["PATH_INFO"]
    errors = operation_errors(method, path)
    if errors is None:
        return  # not an operation of the schema (an unknown path, a method the view lacks)
    status, code = str(response.status_code), body["error"]["code"]
    assert code in errors.get(status, set()), (
        f"{method} {path} answered {status} {code!r}, which its OpenAPI operation does not list "
        f"(it lists {sorted(errors.get(status, []))} at {status}); see docs/api.md"
    )
