"""Code for tests/core/test_openapi_errors.py to scan: each way a code reaches a caller."""

from core.errors import Conflict, NotFound, ServiceUnavailable, Unprocessable


def _helper():
    raise Conflict("sample_conflict", "冲突")


def _factory():
    return ServiceUnavailable("sample_busy")


def _one():
    raise Unprocessable("sample_from_table")


TABLE = {"one": _one}


class Sample:
    def view(self, action):
        if action == "missing":
            raise NotFound()
        self._private()
        TABLE[action]()
        raise _factory()

    def _private(self):
        _helper()


def unrelated():
    raise Conflict("sample_never_reached")
