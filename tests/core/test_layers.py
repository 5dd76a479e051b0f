"""The arrows of docs/architecture.md, enforced: import-linter checks the contract in
.importlinter, so an import that points the wrong way fails the suite (and CI)."""

from __future__ import annotations

import configparser
import os
import subprocess
import sys
from pathlib import Path

from core.project import project_apps

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / ".importlinter"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint(cwd: Path, config: Path) -> subprocess.CompletedProcess:
    # Only `cwd` on the path: a stub tree must not resolve to the real apps.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(config)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
    )


def _contract() -> configparser.ConfigParser:
    parser = configparser.ConfigParser()
    parser.read(CONFIG, encoding="utf-8")
    return parser


def _root_packages(parser: configparser.ConfigParser) -> list[str]:
    return parser["importlinter"]["root_packages"].split()


def test_our_imports_keep_the_layers():
    result = _lint(ROOT, CONFIG)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_every_app_of_ours_is_checked():
    """An app missing from root_packages would not be checked at all: each installed app that
    lives in this repository (and config) must be listed."""
    ours = {"config"} | {config.name for config in project_apps()}
    assert {"core", "residents", "bench"} <= ours
    assert ours <= set(_root_packages(_contract()))


def _stub_tree(tmp_path: Path, parser: configparser.ConfigParser, bad: dict[str, str]) -> Path:
    """Empty packages named like our apps, plus `<app>/bad.py` modules with the given source."""
    for package in _root_packages(parser):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    for app, source in bad.items():
        (tmp_path / app / "bad.py").write_text(source)
    contract = parser["importlinter:contract:layers"]
    if "ignore_imports" in contract:
        del contract["ignore_imports"]  # they name modules the stubs do not have
    config = tmp_path / "contract.ini"
    with config.open("w", encoding="utf-8") as fh:
        parser.write(fh)
    return config


def test_the_contract_fails_on_an_import_the_wrong_way(tmp_path):
    clean = tmp_path / "clean"
    clean.mkdir()
    assert _lint(clean, _stub_tree(clean, _contract(), {})).returncode == 0

    wrong = tmp_path / "wrong"
    wrong.mkdir()
    config = _stub_tree(wrong, _contract(), {
        "core": "import wechat\n",  # core imports no app
        "residents": "def later():\n    import notifications\n",  # deferred imports count too
        "community": "from services import bad\n",  # siblings are independent
        "deliberation": "import wechat.client\n",  # domain apps reach WeChat through notifications
        "wechat": "import console\n",
    })
    result = _lint(wrong, config)
    assert result.returncode == 1, result.stdout + result.stderr
    for arrow in ("core.bad -> wechat", "residents.bad -> notifications", "community.bad -> services", "wechat.bad -> console",
                  "deliberation.bad -> wechat"):
        assert arrow in result.stdout, result.stdout
