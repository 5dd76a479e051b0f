"""Start the WeChat stand-in, the task worker, the scheduler and daphne (what `make run` runs).

With RUN_SENSOR_STANDIN=true (`make run` sets it) the device stand-in pushes the demo devices'
events over HTTP too (docs/sensors.md); with MQTT_URL set, the MQTT bridge runs and the stand-in
publishes every other batch to the broker. Without a broker everything stays HTTP.

The banner is printed only once the server answers `/healthz` and the stand-in answers its
state page, so every URL it prints works when it is read. Ctrl-C (SIGINT) or SIGTERM stops
every child: each runs in its own process group and the whole group is signalled, so nothing
a child started is left behind either.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

PY = sys.executable
PORT = os.environ.get("PORT", "8000")
STANDIN_PORT = os.environ.get("STANDIN_PORT", "8100")
READY_TIMEOUT_SECONDS = float(os.environ.get("RUN_READY_TIMEOUT", "120"))
STOP_TIMEOUT_SECONDS = 10.0

PROCESSES = [
    ("微信模拟服务", [PY, "manage.py", "wechat_standin", "--port", STANDIN_PORT, "--push-url", f"http://127.0.0.1:{PORT}/wechat/callback"]),
    ("任务队列", [PY, "manage.py", "db_worker", "--queue-name", "default,wechat", "--no-reload"]),
    ("定时任务", [PY, "manage.py", "run_scheduler"]),
    ("网站", [PY, "-m", "daphne", "-b", "127.0.0.1", "-p", PORT, "config.asgi:application"]),
]
if os.environ.get("RUN_SENSOR_STANDIN", "").lower() in ("1", "true", "yes"):
    MQTT_URL = os.environ.get("MQTT_URL", "")
    if MQTT_URL:
        PROCESSES.append(("MQTT 桥接", [PY, "manage.py", "mqtt_bridge"]))
    PROCESSES.append(("感知设备模拟", [PY, "manage.py", "sensor_standin", "--url", f"http://127.0.0.1:{PORT}/",
                                      "--speed", "360", *(["--mqtt-url", MQTT_URL] if MQTT_URL else [])]))
READY_URLS = [
    f"http://127.0.0.1:{STANDIN_PORT}/__standin__/state",
    f"http://127.0.0.1:{PORT}/healthz",
]


class Stop(Exception):
    """Raised in the main loop by SIGINT or SIGTERM."""


def _on_signal(signum, _frame) -> None:
    raise Stop(signum)


def banner() -> None:
    base = f"http://127.0.0.1:{PORT}"
    print(
        f"""
社区通已启动
  API 文档    {base}/api/docs/
  OpenAPI     {base}/api/schema/
  管理后台    {base}/admin/        (admin / admin12345)
  工作台      {base}/console/      (见 README 的演示账号)
  微信模拟    http://127.0.0.1:{STANDIN_PORT}/__standin__/state

以任一演示人物登录（code 形如 demo-<openid>-<任意>，每个 code 只能用一次）:
  curl -s -X POST {base}/api/v1/auth/wechat -H 'Content-Type: application/json' \\
       -d '{{"code": "demo-zhangsan-'$RANDOM'"}}'
按 Ctrl-C 停止。
""",
        flush=True,
    )


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def wait_until_ready(children: list[subprocess.Popen]) -> bool:
    """True once every READY_URL answers 200; False if a child exits or time runs out."""
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    pending = list(READY_URLS)
    while pending and time.monotonic() < deadline:
        if any(child.poll() is not None for child in children):
            return False
        pending = [url for url in pending if not _answers(url)]
        if pending:
            time.sleep(0.3)
    return not pending


def stop_all(children: list[subprocess.Popen]) -> None:
    for child in children:
        _signal_group(child, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _signal_group(child, signal.SIGKILL)
            child.wait()


def _signal_group(child: subprocess.Popen, signum: int) -> None:
    try:
        os.killpg(child.pid, signum)
    except ProcessLookupError:
        pass


def report_exits(children: list[subprocess.Popen]) -> None:
    for (name, _cmd), child in zip(PROCESSES, children, strict=True):
        if child.poll() is not None:
            print(f"{name} 已退出 (exit {child.returncode})", file=sys.stderr)


def main() -> int:
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    children: list[subprocess.Popen] = []
    try:
        for _name, cmd in PROCESSES:
            # Own process group: a terminal's Ctrl-C reaches only us, and we stop each group whole.
            children.append(subprocess.Popen(cmd, start_new_session=True))
        print("正在启动…", flush=True)
        if not wait_until_ready(children):
            report_exits(children)
            print("启动失败：服务未在规定时间内就绪", file=sys.stderr, flush=True)
            return 1
        banner()
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        report_exits(children)
        return 1
    except Stop:
        print("正在停止…", flush=True)
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stop_all(children)


if __name__ == "__main__":
    sys.exit(main())
