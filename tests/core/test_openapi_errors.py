"""Typed errors in the OpenAPI schema (config/openapi_errors.py, core/error_scan.py), one tag
scheme, one security scheme, JSON-only bodies, path choices as enums, request examples.

The other half of the check is in tests/conftest.py: every `assert_error` in the suite
also asserts that the code it saw is one its operation lists (tests/documented_errors.py).
"""

from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator

from config.openapi_examples import EXAMPLES
from config.openapi_tags import TAG_PATTERN, TAGS
from core.error_scan import codes_raised
from tests.conftest import Api, assert_error
from tests.core import error_scan_sample
from tests.documented_errors import operation_errors

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def _operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def test_the_scanner_follows_helpers_methods_tables_and_returned_errors():
    found = codes_raised([error_scan_sample.Sample.view], ["tests"])
    assert set(found) == {
        (404, "not_found"), (409, "sample_conflict"), (503, "sample_busy"), (422, "sample_from_table"),
    }
    assert found[(409, "sample_conflict")] == "冲突"


def test_every_operation_documents_its_errors_with_a_code_enum_per_status(schema):
    operations = list(_operations(schema))
    assert len(operations) > 80
    statuses = set()
    for path, method, operation in operations:
        errors = {status: r for status, r in operation["responses"].items() if status[0] in "45"}
        assert any(status.startswith("4") for status in errors), (method, path)
        for status, response in errors.items():
            statuses.add(status)
            body = response["content"]["application/json"]
            error = body["schema"]["properties"]["error"]
            assert error["required"] == ["code", "message", "detail"]
            codes = error["properties"]["code"]["enum"]
            assert codes and codes == sorted(set(codes)), (method, path, status)
            assert set(body["examples"]) == set(codes)
            for code in codes:
                assert body["examples"][code]["value"]["error"]["code"] == code
    assert {"400", "401", "403", "404", "409", "413", "422", "429", "503"} <= statuses


def test_the_codes_are_the_ones_the_views_raise():
    posts = operation_errors("POST", "/api/v1/posts")
    assert "daily_cap_reached" in posts["429"] and "rate_limited" in posts["429"]
    assert {"muted", "announcement_staff_only"} <= posts["403"]
    assert "idempotency_key_reused" in posts["422"]
    assert "membership_exists" not in posts.get("409", set())
    login = operation_errors("POST", "/api/v1/auth/wechat")
    assert "wechat_code_invalid" in login["401"] and "wechat_unavailable" in login["503"]
    assert "not_authenticated" not in login["401"]  # login needs no token
    matter = operation_errors("POST", "/api/v1/matters/7/transfer")
    assert "transfer_loop" in matter["409"] and "not_found" in matter["404"]


def test_an_error_the_schema_does_not_list_fails_assert_error(db):
    # An anonymous call to an operation that takes no token: the code is real and documented,
    # and the same response checked against another operation's list is refused.
    response = Api().post("/api/v1/posts", {"title": "x"})
    assert_error(response, 401, "not_authenticated")
    assert "not_authenticated" not in operation_errors("POST", "/api/v1/auth/wechat").get("401", set())
    response.request["PATH_INFO"] = "/api/v1/auth/wechat"
    with pytest.raises(AssertionError, match="does not list"):
        assert_error(response, 401, "not_authenticated")


def test_each_security_scheme_once(schema):
    assert list(schema["components"]["securitySchemes"]) == ["bearerAuth"]
    for path, method, operation in _operations(schema):
        security = operation.get("security", [])
        assert len(security) == len({tuple(s) for s in map(tuple, security)}), (method, path, security)
    assert "security" not in schema or schema["security"] in ([], [{"bearerAuth": []}])


def test_tags_follow_one_scheme_and_each_has_a_description(schema):
    used = {tag for _p, _m, op in _operations(schema) for tag in op.get("tags", [])}
    assert used and all(TAG_PATTERN.match(tag) for tag in used), sorted(used)
    assert used <= set(TAGS), sorted(used - set(TAGS))
    assert [t["name"] for t in schema["tags"]] == [name for name in TAGS if name in used]


def test_json_only_operations_do_not_advertise_multipart(schema):
    multipart = [
        (method, path) for path, method, op in _operations(schema)
        if "multipart/form-data" in op.get("requestBody", {}).get("content", {})
    ]
    # Uploads only: an image, a vendor's device CSV.
    assert sorted(multipart) == [("post", "/api/v1/images"), ("post", "/api/v1/sensors/devices/import")]


def test_path_choices_are_enums(schema):
    def path_parameter(path, method, name):
        return next(p for p in schema["paths"][path][method]["parameters"] if p["in"] == "path" and p["name"] == name)

    assert path_parameter("/api/v1/service-plans/{plan_id}/{action}", "post", "action")["schema"]["enum"] == ["pause", "resume", "cancel"]
    assert set(path_parameter("/api/v1/me/consents/{purpose}", "delete", "purpose")["schema"]["enum"]) >= {"phone"}


def test_request_examples_fit_their_schemas(schema):
    operations = {op["operationId"]: op for _p, _m, op in _operations(schema)}
    assert set(EXAMPLES) <= set(operations)
    for operation_id, examples in EXAMPLES.items():
        content = operations[operation_id]["requestBody"]["content"]["application/json"]
        assert content["examples"] == examples
        body = schema["components"]["schemas"][content["schema"]["$ref"].rsplit("/", 1)[-1]]
        for example in examples.values():
            assert set(example["value"]) <= set(body["properties"]), (operation_id, example)
            assert set(body.get("required", [])) <= set(example["value"]), (operation_id, example)


def test_every_domain_error_is_built_with_a_literal_code():
    """The scan reads codes only as literals at the `raise` (core/error_scan.py): a code held in
    a variable would be answered by the API and listed nowhere. Any `Conflict(x, …)` whose code
    is not a string literal is named here."""
    import ast
    from pathlib import Path

    from core import errors
    from core.project import project_apps

    names = {name for name, obj in vars(errors).items() if isinstance(obj, type) and issubclass(obj, errors.DomainError)}
    hidden = []
    for config in project_apps():
        for path in Path(config.path).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in names):
                    continue
                code = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "code"), None)
                if code is not None and not (isinstance(code, ast.Constant) and isinstance(code.value, str)):
                    hidden.append(f"{path.relative_to(config.path).as_posix()}:{node.lineno} in {config.name}")
    assert hidden == [], hidden
