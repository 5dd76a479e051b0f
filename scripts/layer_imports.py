"""List the imports between our apps that break the layers of docs/architecture.md.

Reads every `import x` / `from x import y` statement (top level or inside a function: a
deferred import is still a dependency) of the apps' Python files with `ast` and prints each
one whose target app the importing app may not use, as `file:line  importer -> imported`.
Exit status 1 when there is any. Migrations are left out (they name models by app label).

    python scripts/layer_imports.py
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Which of our apps each app may import (itself always). `core` is infrastructure: it may be
# imported by every app and imports none. `config` wires everything together and is not checked.
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "wechat": {"core"},
    "residents": {"core", "wechat"},
    "notifications": {"core", "wechat", "residents"},
    "community": {"core", "residents", "notifications"},
    "services": {"core", "residents", "notifications"},
    "deliberation": {"core", "residents", "notifications"},
    # The case engine (docs/matters.md): domain apps whose cases it runs import it, never the reverse.
    "cases": {"core", "residents", "notifications"},
    "matters": {"core", "residents", "notifications", "cases"},
    "console": {"core", "residents", "notifications", "community", "services", "deliberation", "cases", "matters"},
}
APPS = set(ALLOWED)


def _imported_modules(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module


def violations(root: Path = ROOT) -> list[tuple[str, int, str, str]]:
    found = []
    for app in sorted(APPS):
        for path in sorted((root / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for lineno, module in _imported_modules(tree):
                target = module.split(".")[0]
                if target in APPS and target != app and target not in ALLOWED[app]:
                    found.append((str(path.relative_to(root)), lineno, app, module))
    return found


def main() -> int:
    found = violations()
    for path, lineno, app, module in found:
        print(f"{path}:{lineno}  {app} -> {module}")
    print(f"{len(found)} import(s) against the layers", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
