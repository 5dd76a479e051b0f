"""`make run`'s launcher (scripts/run_dev.py) as a person at a terminal meets it: the banner
appears only when the URLs it prints answer, and Ctrl-C or SIGTERM leaves no process behind.

Runs the real launcher as a subprocess on a fresh SQLite file, with its four children.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from bench.stack import free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dev_env(tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("make-run")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "REDIS_"))}
    taken: set[int] = set()
    port, standin_port = free_port(taken), free_port(taken)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_DEBUG": "true",
            "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
            "MEDIA_ROOT": str(folder / "media"),
            "PORT": str(port),
            "STANDIN_PORT": str(standin_port),
            "WECHAT_API_BASE": f"http://127.0.0.1:{standin_port}/",
        }
    )
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=300)
    return env


def _wait_for_banner(launcher: subprocess.Popen, timeout: float = 180) -> None:
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        for line in launcher.stdout:  # the launcher flushes each line
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            break
        if line is None:
            pytest.fail(f"the launcher exited (exit {launcher.wait()}) before its banner")
        if "社区通已启动" in line:
            return
    pytest.fail("no banner in time")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_banner_means_ready_and_a_signal_stops_every_process(dev_env, signum):
    launcher = subprocess.Popen(
        [sys.executable, "scripts/run_dev.py"], cwd=ROOT, env=dev_env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    family: list[psutil.Process] = []
    try:
        _wait_for_banner(launcher)
        # The moment the banner is read, the URLs it names answer.
        for url in (f"http://127.0.0.1:{dev_env['PORT']}/healthz",
                    f"http://127.0.0.1:{dev_env['STANDIN_PORT']}/__standin__/state"):
            with urllib.request.urlopen(url, timeout=5) as response:
                assert response.status == 200, url
        family = psutil.Process(launcher.pid).children(recursive=True)
        assert len(family) >= 4, [p.name() for p in family]

        launcher.send_signal(signum)
        assert launcher.wait(timeout=30) == 0
        gone, alive = psutil.wait_procs(family, timeout=5)
        assert not alive, f"left running: {[(p.pid, p.cmdline()) for p in alive]}"
    finally:
        for process in [*family, psutil.Process(launcher.pid)] if launcher.poll() is None else family:
            try:
                process.kill()
            except psutil.NoSuchProcess:
                pass
