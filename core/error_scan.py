"""Which error codes a function can answer with, read from the code itself.

The OpenAPI schema lists, per operation, the error codes it can return
(config/openapi_errors.py). Nobody keeps that list by hand: `codes_raised(func)` reads the
function's source, and the source of every function, method and class of ours it refers to,
for a domain error built with a literal code:

    raise Conflict("membership_exists", "…")        → (409, "membership_exists")
    raise NotFound()                                 → (404, "not_found")
    return ServiceUnavailable("wechat_unavailable")  → (503, "wechat_unavailable")
    raise ValidationError(…)  (DRF)                  → (400, "invalid_input")
    raise AuthenticationFailed(…, code="token_expired")  → (401, "token_expired")

A domain error is any `core.errors.DomainError` subclass; an adapter's exception
(`core.errors.ExternalServiceError`) counts through its `as_domain_error`. "Refers to"
follows names through the function's globals and closure, attributes of modules and
classes (`actions.do_x`, `self._helper`), and the methods of classes of ours it names
(a client class it builds, a serializer it validates with); Django models are not entered.
It over-approximates (a branch that cannot run still counts) and cannot see a code held
in a variable: write the code as a literal at the `raise`, as the code base does.
tests/core/test_openapi_errors.py holds it to what the test suite's `assert_error` calls
see, so a code it cannot find fails a test.
"""

from __future__ import annotations

import ast
import builtins
import functools
import inspect
import textwrap
import types
from collections.abc import Callable, Iterable

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import models
from django.http import Http404
from rest_framework import exceptions as drf

from core.errors import DomainError, ExternalServiceError

Code = tuple[int, str]

# DRF and Django exceptions a view raises itself, as core.exceptions answers them.
_FRAMEWORK: dict[type, Code] = {
    drf.ValidationError: (400, "invalid_input"),
    drf.ParseError: (400, "malformed_request"),
    drf.NotAuthenticated: (401, "not_authenticated"),
    drf.PermissionDenied: (403, "forbidden"),
    drf.NotFound: (404, "not_found"),
    drf.Throttled: (429, "rate_limited"),
    Http404: (404, "not_found"),
    DjangoPermissionDenied: (403, "forbidden"),
}
# Shortcuts that raise Http404.
_NOT_FOUND_SHORTCUTS = {"get_object_or_404", "get_list_or_404"}


def _literal(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


@functools.cache
def _parsed(code: types.CodeType) -> ast.AST | None:
    """A function's syntax tree, parsed once per process: every operation's scan walks many of
    the same functions (the actions, the access helpers), and reading and parsing their source
    again for each one made a schema cost minutes."""
    try:
        return ast.parse(textwrap.dedent(inspect.getsource(code)))
    except (OSError, TypeError, SyntaxError):
        return None


_NO_MESSAGE = object()  # a code the framework answers: no message of ours to show


class _Scanner:
    def __init__(self, packages: Iterable[str], *, recording: bool = False) -> None:
        self.packages = tuple(packages)
        self.seen: set[int] = set()
        self.codes: set[Code] = set()
        self.messages: dict[Code, str] = {}
        # While one function's body is read: what it finds, in order, to be replayed by every
        # later scan that reaches the function (see `_steps`).
        self.steps: list[tuple] | None = [] if recording else None

    def add(self, key: Code, message: object = _NO_MESSAGE) -> None:
        if self.steps is not None:
            self.steps.append(("code", key, message))
            return
        self.codes.add(key)
        if message is not _NO_MESSAGE:
            self.messages.setdefault(key, message)

    def follow(self, target: object, owner: type | None) -> None:
        if self.steps is not None:
            self.steps.append(("follow", target, owner))
        else:
            self.scan(target, owner)

    def ours(self, obj: object) -> bool:
        module = getattr(obj, "__module__", None) or ""
        return module.split(".")[0] in self.packages

    # --- what a name means --------------------------------------------------------

    def resolve(self, node: ast.AST, scope: dict, owner: type | None) -> object | None:
        if isinstance(node, ast.Name):
            if node.id in scope:
                return scope[node.id]
            return getattr(builtins, node.id, None)
        if isinstance(node, ast.Attribute):
            if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls") and owner is not None:
                return inspect.getattr_static(owner, node.attr, None)
            base = self.resolve(node.value, scope, owner)
            if isinstance(base, (types.ModuleType, type)):
                try:
                    return inspect.getattr_static(base, node.attr)
                except AttributeError:
                    return None
        return None

    # --- walking -----------------------------------------------------------------

    def scan(self, obj: object, owner: type | None = None) -> None:
        if isinstance(obj, (staticmethod, classmethod)):
            obj = obj.__func__
        if isinstance(obj, property):
            obj = obj.fget
        if isinstance(obj, functools.partial):
            obj = obj.func
        if isinstance(obj, type):
            self.scan_class(obj)
            return
        if isinstance(obj, (dict, list, tuple, set, frozenset)) and id(obj) not in self.seen:
            # A dispatch table (`ACTIONS[action](…)`, a transition table's effects).
            self.seen.add(id(obj))
            for value in obj.values() if isinstance(obj, dict) else obj:
                self.scan(value)
            return
        if not isinstance(obj, types.FunctionType) or not self.ours(obj) or id(obj) in self.seen:
            return
        self.seen.add(id(obj))
        wrapped = getattr(obj, "__wrapped__", None)
        if wrapped is not None:
            self.scan(wrapped, owner)
        for step in _steps(obj, owner, self.packages):
            if step[0] == "code":
                self.add(step[1], step[2])
            else:
                self.scan(step[1], step[2])

    def scan_class(self, cls: type) -> None:
        if id(cls) in self.seen:
            return
        self.seen.add(id(cls))
        if issubclass(cls, DomainError):
            return  # its construction is read where it happens, with its code
        if issubclass(cls, ExternalServiceError):
            self.scan(cls.__dict__.get("as_domain_error"), cls)
            return
        if not self.ours(cls) or issubclass(cls, models.Model):
            return
        for klass in cls.__mro__:
            if self.ours(klass):
                for value in vars(klass).values():
                    self.scan(value, cls)

    def walk(self, tree: ast.AST, scope: dict, owner: type | None) -> None:
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                self.call(node, scope, owner)
            elif isinstance(node, ast.Raise) and node.exc is not None and not isinstance(node.exc, ast.Call):
                self.raised_class(self.resolve(node.exc, scope, owner))
            if isinstance(node, (ast.Name, ast.Attribute)):
                target = self.resolve(node, scope, owner)
                if target is not None and not isinstance(target, types.ModuleType):
                    via_self = isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")
                    self.follow(target, owner if via_self else None)

    def raised_class(self, target: object) -> None:
        if isinstance(target, type) and issubclass(target, DomainError):
            key = (target.status_code, target.default_code)
            self.add(key, target.default_message)
        elif isinstance(target, type):
            self.framework(target, None)

    def framework(self, target: type, node: ast.Call | None) -> None:
        if issubclass(target, drf.AuthenticationFailed):
            code = None
            if node is not None:
                code = next((_literal(k.value) for k in node.keywords if k.arg == "code"), None)
            self.add((401, code if code and code.startswith("token_") else "token_invalid"))
            return
        for cls, code in _FRAMEWORK.items():
            if issubclass(target, cls):
                self.add(code)
                return

    def call(self, node: ast.Call, scope: dict, owner: type | None) -> None:
        target = self.resolve(node.func, scope, owner)
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
        if name in _NOT_FOUND_SHORTCUTS:
            self.add((404, "not_found"))
        if name == "is_valid" and any(k.arg == "raise_exception" for k in node.keywords):
            self.add((400, "invalid_input"))
        if not isinstance(target, type):
            return
        if issubclass(target, DomainError):
            code = _literal(node.args[0]) if node.args else None
            code = code or next((_literal(k.value) for k in node.keywords if k.arg == "code"), None)
            message = _literal(node.args[1]) if len(node.args) > 1 else None
            message = message or next((_literal(k.value) for k in node.keywords if k.arg == "message"), None)
            key = (target.status_code, code or target.default_code)
            self.add(key, message or target.default_message)
        elif issubclass(target, BaseException):
            self.framework(target, node)


@functools.cache
def _steps(obj: types.FunctionType, owner: type | None, packages: tuple[str, ...]) -> tuple[tuple, ...]:
    """What reading one function's body finds, in order: codes it raises and names it follows.
    Read once per process and replayed by each operation's scan (which keeps its own `seen`),
    so a schema reads every function once instead of once per operation reaching it."""
    tree = _parsed(obj.__code__)
    if tree is None:
        return ()
    scope = dict(obj.__globals__)
    if obj.__closure__:
        for name, cell in zip(obj.__code__.co_freevars, obj.__closure__, strict=True):
            try:
                scope[name] = cell.cell_contents
            except ValueError:
                pass
    if owner is None:
        qualname = obj.__qualname__.split(".<locals>.")[-1].split(".")
        if len(qualname) > 1:
            candidate = scope.get(qualname[0])
            owner = candidate if isinstance(candidate, type) else None
    recorder = _Scanner(packages, recording=True)
    recorder.walk(tree, scope, owner)
    return tuple(recorder.steps)


def codes_raised(funcs: Iterable[Callable | type | None], packages: Iterable[str]) -> dict[Code, str | None]:
    """(status, code) → a message, for what the functions (and classes) can raise, following
    what they call in `packages`. The message is the literal one at the first `raise` found
    (None where the code base builds it, e.g. an f-string, and the class has none)."""
    scanner = _Scanner(packages)
    for func in funcs:
        if func is not None:
            scanner.scan(func)
    return {code: scanner.messages.get(code) for code in sorted(scanner.codes)}
