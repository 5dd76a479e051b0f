"""The realtime event types the code publishes, found by reading it (for test_asyncapi.py).

A type is a string literal passed as `type` to `publish_on_commit`, or to a function of ours
that hands one of its own parameters on as that type (`community.actions._publish`,
`deliberation.actions.common.publish_topic`, found to a fixpoint), or the middle of a
`(stream, type, payload)` tuple literal whose stream is an f-string or literal on a
registered prefix (`publish_many_on_commit`'s batches, `notifications.inbox_sql.notice_event`).
A type read from a module-level table (`frame_type = FRAME_TYPES.get(event.kind)` in
cases/realtime.py) counts with every string value of that table.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SKIP = {"tests", "bench", ".venv", "migrations", "node_modules", "scripts"}


def _sources() -> list[tuple[Path, ast.Module]]:
    out = []
    for path in sorted(ROOT.rglob("*.py")):
        parts = set(path.relative_to(ROOT).parts)
        if parts & SKIP or any(p.startswith(".") for p in path.relative_to(ROOT).parts):
            continue
        out.append((path, ast.parse(path.read_text(), str(path))))
    return out


def _literals(node: ast.AST | None) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _literals(node.body) + _literals(node.orelse)
    return []


def _name(call: ast.Call) -> str | None:
    return call.func.id if isinstance(call.func, ast.Name) else getattr(call.func, "attr", None)


def published_event_types(prefixes: list[str]) -> set[str]:
    sources = _sources()
    # publisher name → (position of the type argument, its keyword name)
    publishers: dict[str, tuple[int, str]] = {"publish_on_commit": (1, "type")}
    found: set[str] = set()
    changed = True
    while changed:
        changed = False
        for _path, tree in sources:
            for func in ast.walk(tree):
                if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    continue
                params = [a.arg for a in func.args.posonlyargs + func.args.args]
                for call in ast.walk(func):
                    if not isinstance(call, ast.Call) or _name(call) not in publishers:
                        continue
                    index, keyword = publishers[_name(call)]
                    arg = call.args[index] if len(call.args) > index else next(
                        (k.value for k in call.keywords if k.arg == keyword), None
                    )
                    found.update(_literals(arg))
                    if isinstance(arg, ast.Name) and arg.id in params and func.name not in publishers:
                        publishers[func.name] = (params.index(arg.id), arg.id)
                        changed = True
    for _path, tree in sources:
        tables = _module_tables(tree)
        from_tables = _names_read_from_tables(tree, tables)
        for node in ast.walk(tree):
            if isinstance(node, ast.Tuple) and len(node.elts) == 3:
                stream = node.elts[0]
                head = stream.values[0] if isinstance(stream, ast.JoinedStr) and stream.values else stream
                text = head.value if isinstance(head, ast.Constant) and isinstance(head.value, str) else ""
                if any(text.startswith(prefix + ".") for prefix in prefixes):
                    found.update(_literals(node.elts[1]))
                # (stream, frame_type, payload) with the type from a table (its stream a variable).
                if isinstance(node.elts[1], ast.Name) and isinstance(node.elts[0], ast.Name):
                    found.update(from_tables.get(node.elts[1].id, ()))
    return found


def _module_tables(tree: ast.Module) -> dict[str, list[str]]:
    """Module-level `NAME = {key: "literal", ...}` tables and their string values."""
    tables = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                tables[target.id] = [v for value in node.value.values for v in _literals(value)]
    return tables


def _names_read_from_tables(tree: ast.Module, tables: dict[str, list[str]]) -> dict[str, list[str]]:
    """Local names assigned `TABLE.get(...)` or `TABLE[...]` → that table's values."""
    out: dict[str, list[str]] = {}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            continue
        value = node.value
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr == "get":
            value = value.func.value
        elif isinstance(value, ast.Subscript):
            value = value.value
        if isinstance(value, ast.Name) and value.id in tables:
            out[node.targets[0].id] = tables[value.id]
    return out
