"""A real mosquitto broker the test owns: started on a free port with a minimal config file
(anonymous on 127.0.0.1, persistence on, so a restart keeps the bridge's session), stopped and
started again on the same port, and a small QoS 1 publisher.

Debian's mosquitto is /usr/sbin/mosquitto (not on a user's PATH). Where it is installed the
tests that use the fixture run; where it is not they skip, and tests/no_skip.py fails a skip
of a test marked `mqtt` on a machine that has it (docs/testing.md).
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

MOSQUITTO = Path("/usr/sbin/mosquitto")


def mosquitto_binary() -> str | None:
    if MOSQUITTO.exists():
        return str(MOSQUITTO)
    return shutil.which("mosquitto")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MosquittoProcess:
    def __init__(self) -> None:
        self.port = _free_port()
        self.url = f"mqtt://127.0.0.1:{self.port}"
        self.dir = Path(tempfile.mkdtemp(prefix="stq-mosquitto."))
        self.config = self.dir / "mosquitto.conf"
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "persistence true\n"
            f"persistence_location {self.dir}/\n"
            "max_queued_messages 100000\n"
            "user root\n"  # run as whoever started it (mosquitto would switch to its own user as root)
            f"log_dest file {self.dir}/mosquitto.log\n"
        )
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [mosquitto_binary(), "-c", str(self.config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited with {self.proc.returncode}: {self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"mosquitto did not come up on {self.port}: {self.log()}")

    def stop(self) -> None:
        """SIGTERM: mosquitto writes its persistence file (sessions, queued messages) and exits."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=10)
        self.proc = None

    def log(self) -> str:
        path = self.dir / "mosquitto.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""


class Publisher:
    """A vendor's platform publishing QoS 1 batches; each publish waits for the broker's PUBACK."""

    def __init__(self, url: str, client_id: str = "stq-test-vendor") -> None:
        import paho.mqtt.client as mqtt

        from sensors.mqtt import Broker

        broker = Broker.parse(url)
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        if broker.username:
            self.client.username_pw_set(broker.username, broker.password)
        self.client.connect(broker.host, broker.port, keepalive=30)
        self.client.loop_start()

    def publish(self, topic: str, events: list[dict] | None = None, *, raw: bytes | None = None) -> None:
        payload = raw if raw is not None else json.dumps({"events": events}).encode()
        info = self.client.publish(topic, payload, qos=1)
        info.wait_for_publish(timeout=10)
        assert info.is_published(), f"publish to {topic} not acknowledged"

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def mosquitto():
    if mosquitto_binary() is None:
        pytest.skip("mosquitto is not installed (apt-get install mosquitto)")
    broker = MosquittoProcess()
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
        shutil.rmtree(broker.dir, ignore_errors=True)
