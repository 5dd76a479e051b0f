"""Image uploads against a real server process: the worst accepted pictures, 8 at once.

    python bench/images.py [--parallel 8]

Starts a production-mode uvicorn (one process) on a throwaway SQLite database, the WeChat
stand-in (login and media check), logs one resident in, then for each worst case the caps
accept (a 50 MP JPEG, a PNG at the lossless cap) posts `--parallel` copies at once and
reports the wall time, the slowest request, the server's RSS before, its peak (VmHWM) and
its RSS after. Issue 14 (defect 6) measured 18.6 s for one 40 MP PNG and 185 MB → 1.98 GB
(kept) for four in parallel before the fix.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.stack import Stack, production_env  # noqa: E402


def worst_jpeg() -> bytes:
    """8160 × 6120 (49.9 MP, under MAX_IMAGE_PIXELS): a 50 MP phone sensor's full mode."""
    from PIL import Image

    out = io.BytesIO()
    Image.linear_gradient("L").resize((8160, 6120)).convert("RGB").save(out, "JPEG", quality=80)
    return out.getvalue()


def worst_png(side: int = 4000) -> bytes:
    """4000 × 4000 RGBA (16 MP, at MAX_LOSSLESS_IMAGE_PIXELS): every pixel decoded, 4 bytes each."""
    from PIL import Image

    out = io.BytesIO()
    Image.linear_gradient("L").resize((side, side)).convert("RGBA").save(out, "PNG", compress_level=1)
    return out.getvalue()


def rss_kb(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not found for {pid}")


def upload(base: str, token: str, name: str, data: bytes, content_type: str) -> tuple[int, float, str]:
    started = time.perf_counter()
    response = requests.post(
        f"{base}/api/v1/images",
        headers={"Authorization": f"Bearer {token}"},
        files={"file": (name, data, content_type)},
        timeout=300,
    )
    return response.status_code, time.perf_counter() - started, response.text[:120]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parallel", type=int, default=8)
    parser.add_argument("--png-side", type=int, default=4000, help="6300: the issue's 40 MP PNG (over today's cap)")
    args = parser.parse_args()

    stack = Stack()
    try:
        assert stack.workdir is not None
        env = production_env(
            database_url=f"sqlite:///{stack.workdir / 'bench.sqlite3'}", redis_url="", wechat_base="http://127.0.0.1:1/"
        )
        env.update(
            {
                "MEDIA_ROOT": str(stack.workdir / "media"),
                "THROTTLE_UPLOAD": "1000/min",
                "THROTTLE_LOGIN": "1000/min",
                "DATABASE_POOL": "false",
            }
        )
        env["WECHAT_API_BASE"] = stack.start_wechat_standin(env)
        stack.manage("migrate", "--noinput", env=env, timeout=600)
        base = stack.start_uvicorn(env, workers=1)
        pid = stack.pid_of("uvicorn")
        login = requests.post(f"{base}/api/v1/auth/wechat", json={"code": "demo-imagebench-1"}, timeout=30)
        login.raise_for_status()
        token = login.json()["token"]

        cases = [("jpeg-50MP", "a.jpg", worst_jpeg(), "image/jpeg"), (f"png-{args.png_side}²-rgba", "a.png", worst_png(args.png_side), "image/png")]
        # One small upload first, so the baseline includes Pillow and the code paths loaded.
        small = io.BytesIO()
        from PIL import Image

        Image.new("RGB", (64, 64)).save(small, "JPEG")
        print("warm-up", upload(base, token, "w.jpg", small.getvalue(), "image/jpeg")[:2])
        print(f"server pid {pid}; {args.parallel} uploads in parallel per case")
        for label, name, data, content_type in cases:
            before = rss_kb(pid)
            started = time.perf_counter()
            with ThreadPoolExecutor(args.parallel) as pool:
                futures = [pool.submit(upload, base, token, name, data, content_type) for _ in range(args.parallel)]
                results = [future.result() for future in futures]
            wall = time.perf_counter() - started
            time.sleep(1.0)
            after = rss_kb(pid)
            peak = rss_kb(pid, "VmHWM")
            statuses = sorted({status for status, _, _ in results})
            slowest = max(seconds for _, seconds, _ in results)
            one = min(seconds for _, seconds, _ in results)
            print(
                f"{label}: {len(data) // 1024} KB file; statuses {statuses}; wall {wall:.1f} s; "
                f"fastest {one:.1f} s, slowest {slowest:.1f} s; server RSS {before // 1024} MB before, "
                f"peak {peak // 1024} MB (process lifetime), {after // 1024} MB after"
            )
            for status, seconds, text in results:
                if status != 201:
                    print(f"  {status} after {seconds:.1f} s: {text}")
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
