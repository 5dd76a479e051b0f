"""`manage.py mqtt_bridge` as its own OS process, for the tests that kill and restart it
(tests/sensors/test_mqtt_bridge.py on the test settings, tests/sensors/test_kill_restart.py on
production settings beside a task worker)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    """The test's own database, for the bridge process to write where the test reads."""
    if connection.vendor == "sqlite":
        return f"sqlite:///{connection.settings_dict['NAME']}"
    from tests.scale.database import shared_database_url

    return shared_database_url()


class BridgeProcess:
    """Started with `start()` (waits until it has connected), crashed with `kill()` (SIGKILL to
    its process group), stopped with `stop()`. `env` replaces the test settings' environment
    (a production process's, tests/scale/database.py server_env)."""

    def __init__(self, broker_url: str, tmp_path: Path, env: dict[str, str] | None = None) -> None:
        base = env if env is not None else {
            **os.environ, "DJANGO_SETTINGS_MODULE": "config.settings_test", "DATABASE_URL": database_url(),
            "FIELD_ENCRYPTION_KEYS": ",".join(settings.FIELD_ENCRYPTION_KEYS),
        }
        self.env = {**base, "MQTT_URL": broker_url, "MQTT_CLIENT_ID": f"stq-test-bridge-{os.getpid()}",
                    "PYTHONUNBUFFERED": "1", "DATABASE_POOL": "false"}
        self.log = tmp_path / "bridge.log"
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "manage.py", "mqtt_bridge"], cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait(lambda: self.output().count("mqtt: connected") >= self.starts, "the bridge to connect", self)

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def wait(check, what: str, bridge: BridgeProcess, timeout: float = 60.0):
    """Poll `check` until it returns something true; fail with the bridge's output if it exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        if bridge.proc is not None and bridge.proc.poll() is not None:
            raise AssertionError(f"the bridge exited ({bridge.proc.returncode}) waiting for {what}:\n{bridge.output()[-3000:]}")
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}:\n{bridge.output()[-3000:]}")
