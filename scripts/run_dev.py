"""Start the WeChat stand-in, the task worker and daphne; stop all three on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

PY = sys.executable
PORT = os.environ.get("PORT", "8000")
STANDIN_PORT = os.environ.get("STANDIN_PORT", "8100")

PROCESSES = [
    ("微信模拟服务", [PY, "manage.py", "wechat_standin", "--port", STANDIN_PORT, "--push-url", f"http://127.0.0.1:{PORT}/wechat/callback"]),
    ("任务队列", [PY, "manage.py", "db_worker", "--queue-name", "default,wechat", "--no-reload"]),
    ("定时任务", [PY, "manage.py", "run_scheduler"]),
    ("网站", [PY, "-m", "daphne", "-b", "127.0.0.1", "-p", PORT, "config.asgi:application"]),
]


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


def main() -> int:
    children: list[subprocess.Popen] = []
    try:
        for _name, cmd in PROCESSES:
            children.append(subprocess.Popen(cmd))
            time.sleep(0.5)
        banner()
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        for (name, _cmd), child in zip(PROCESSES, children, strict=False):
            if child.poll() is not None:
                print(f"{name} 已退出 (exit {child.returncode})", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()


if __name__ == "__main__":
    sys.exit(main())
