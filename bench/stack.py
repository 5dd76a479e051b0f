"""Start and stop the production-like stack on loopback: PostgreSQL, Redis, the ASGI
servers and the task workers. Used by bench/load.py and tests/scale/.

Every process starts in its own session (process group) and is stopped by group, so
nothing is left running when the caller's `finally` runs `Stack.stop()`.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PGBIN = Path(os.environ.get("PGBIN", "/usr/lib/postgresql/15/bin"))
# The block of loopback ports this project's benchmarks may use.
PORT_RANGE = range(55400, 55500)



# The WebSocket flags every uvicorn runs with, as deployed (deploy/systemd/shequtong-web.service and
# deploy/Procfile carry the same; tests/scale/test_socket_limits.py holds them equal): no
# permessage-deflate (frames are small JSON, and compressing each per socket undoes the hub's one
# encoding per event: bench/README.md, "Session 11"), and client messages of at most 64 KiB (the
# protocol's only client messages are subscribe/unsubscribe, ~100 bytes; uvicorn's default is 16 MiB).
UVICORN_WS_FLAGS = ["--ws-per-message-deflate", "false", "--ws-max-size", "65536"]

def free_port(taken: set[int] | None = None) -> int:
    taken = taken if taken is not None else set()
    for port in PORT_RANGE:
        if port in taken:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        taken.add(port)
        return port
    raise RuntimeError("no free port in 55400-55499")


def production_env(
    *, database_url: str, redis_url: str, wechat_base: str, extra: dict[str, str] | None = None
) -> dict[str, str]:
    """The environment of a production process: DEBUG off, every required setting real."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SHEQUTONG_"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_DEBUG": "false",
            # Fixed, bench-only secrets: a kept cluster (--pgdata) holds rows encrypted and
            # blind-indexed with them, so every run must use the same ones.
            "DJANGO_SECRET_KEY": "bench-only-" + hashlib.sha256(b"stq-bench-secret").hexdigest(),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "WECHAT_APPID": "wxbench000000000",
            "WECHAT_SECRET": "bench-secret",
            "WECHAT_API_BASE": wechat_base,
            "WECHAT_PUSH_TOKEN": "benchpushtoken",
            "WECHAT_PUSH_AES_KEY": base64.b64encode(hashlib.sha256(b"stq-bench-push").digest()).decode()[:43],
            "FIELD_ENCRYPTION_KEYS": base64.urlsafe_b64encode(hashlib.sha256(b"stq-bench-field").digest()).decode(),
            "PUBLIC_BASE_URL": "http://127.0.0.1/",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra or {})
    return env


def _wait_for(check, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception as exc:  # not up yet
            last = exc
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not come up within {timeout:.0f}s ({last})")


def http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as response:
        return response.status == 200


@dataclass
class Stack:
    """Processes started here, stopped (by process group) in reverse order by stop()."""

    workdir: Path | None = None
    keep_pgdata: bool = False
    procs: list[tuple[str, subprocess.Popen]] = field(default_factory=list)
    pgdata: Path | None = None
    pg_started: bool = False
    ports: set[int] = field(default_factory=set)
    logs: dict[str, Path] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix="stq-bench."))
        self.workdir.mkdir(parents=True, exist_ok=True)

    # --- processes --------------------------------------------------------------------
    def spawn(
        self, name: str, cmd: list[str], *, env: dict[str, str] | None = None, cwd: Path = ROOT
    ) -> subprocess.Popen:
        log = self.workdir / f"{name}.log"
        self.logs[name] = log
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            env=env,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() kills workers it forked too
        )
        self.procs.append((name, proc))
        return proc

    def tail(self, name: str, chars: int = 3000) -> str:
        return self.full_log(name)[-chars:]

    def full_log(self, name: str) -> str:
        log = self.logs.get(name)
        return log.read_text(errors="replace") if log and log.exists() else ""

    def check_alive(self) -> None:
        for name, proc in self.procs:
            if proc.poll() is not None:
                tail = self.logs[name].read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{name} exited with {proc.returncode}:\n{tail}")

    # --- PostgreSQL -------------------------------------------------------------------
    def start_postgres(
        self, *, pgdata: Path | None = None, port: int | None = None, bulk_load: bool = False, small: bool = False
    ) -> str:
        """A throwaway cluster (or a kept one at `pgdata`), listening on loopback only.

        `small`: default memory settings, for tests that share the machine (the fault suite),
        instead of the benchmark's 2 GB of shared buffers."""
        port = port or free_port(self.ports)
        self.pgdata = pgdata or (self.workdir / "pg")
        fresh = not (self.pgdata / "PG_VERSION").exists()
        os.chmod(self.workdir, 0o755)
        self.pgdata.mkdir(parents=True, exist_ok=True)
        shutil.chown(self.pgdata, "postgres", "postgres")
        if fresh:
            _as_postgres(f"{PGBIN}/initdb -D '{self.pgdata}' -U postgres --auth=trust -E UTF8 --locale=C.UTF-8")
        settings = [
            f"-p {port}",
            f"-k {self.pgdata}",
            "-c listen_addresses=127.0.0.1",
            "-c max_connections=200",
            "-c jit=off",
        ]
        if not small:
            settings += [
                "-c shared_buffers=2GB",
                "-c effective_cache_size=8GB",
                "-c work_mem=32MB",
                "-c maintenance_work_mem=1GB",
                "-c max_wal_size=8GB",
                "-c checkpoint_timeout=30min",
                "-c random_page_cost=1.1",
            ]
        settings += [
            # A bulk load into a throwaway cluster need not survive a power cut; the load
            # test itself runs with fsync and synchronous_commit on (see set_durable()).
            f"-c fsync={'off' if bulk_load else 'on'}",
            f"-c synchronous_commit={'off' if bulk_load else 'on'}",
            f"-c full_page_writes={'off' if bulk_load else 'on'}",
        ]
        _as_postgres(
            f"{PGBIN}/pg_ctl -D '{self.pgdata}' -o '{' '.join(settings)}' -l '{self.pgdata}/server.log' -w -t 120 start"
        )
        self.pg_started = True
        if fresh:
            _as_postgres(f"{PGBIN}/createdb -h 127.0.0.1 -p {port} -U postgres shequtong")
        self.pg_port = port
        return f"postgres://postgres@127.0.0.1:{port}/shequtong"

    def restart_postgres_durable(self) -> None:
        """After the bulk load: restart with fsync/full_page_writes on, like production."""
        assert self.pgdata is not None
        _as_postgres(f"{PGBIN}/pg_ctl -D '{self.pgdata}' -m fast -w stop")
        self.pg_started = False
        self.start_postgres(pgdata=self.pgdata, port=self.pg_port, bulk_load=False)

    def restart_postgres(self) -> None:
        """`pg_ctl restart -m fast`: every client connection is cut, the cluster comes back on
        the same port with the same options (the fault suite's database outage)."""
        assert self.pgdata is not None and self.pg_started
        _as_postgres(f"{PGBIN}/pg_ctl -D '{self.pgdata}' -m fast -w -t 60 -l '{self.pgdata}/server.log' restart")

    # --- PgBouncer ----------------------------------------------------------------------
    def start_pgbouncer(self, database_url: str, *, pool_size: int = 20) -> str:
        """PgBouncer in transaction mode in front of `database_url` (Debian's package:
        `apt-get install pgbouncer`); returns the URL the servers use instead. It refuses to run
        as root, so it runs as postgres, with trust authentication on loopback."""
        target = urllib.parse.urlsplit(database_url)
        port = free_port(self.ports)
        conf = self.workdir / "pgbouncer"
        conf.mkdir(exist_ok=True)
        (conf / "userlist.txt").write_text(f'"{target.username or "postgres"}" ""\n')
        (conf / "pgbouncer.ini").write_text(
            "[databases]\n"
            f"{target.path.lstrip('/')} = host={target.hostname} port={target.port or 5432} dbname={target.path.lstrip('/')}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {conf / 'userlist.txt'}\n"
            f"pool_mode = transaction\ndefault_pool_size = {pool_size}\nmax_client_conn = 2000\n"
            "server_reset_query =\nignore_startup_parameters = extra_float_digits,options\n"
            f"logfile = {conf / 'pgbouncer.log'}\npidfile = {conf / 'pgbouncer.pid'}\n"
        )
        os.chmod(self.workdir, 0o755)
        shutil.chown(conf, "postgres", "postgres")
        self.spawn("pgbouncer", ["runuser", "-u", "postgres", "--", "pgbouncer", str(conf / "pgbouncer.ini")])
        _wait_for(lambda: socket.create_connection(("127.0.0.1", port), timeout=1).close() is None, "pgbouncer", 30)
        return f"postgres://{target.username or 'postgres'}@127.0.0.1:{port}{target.path}"

    # --- Redis ------------------------------------------------------------------------
    def start_redis(self, *, port: int | None = None) -> str:
        """Redis without persistence; `port` to bring it back where it was (restart_redis)."""
        port = port or free_port(self.ports)
        self.redis_port = port
        self.spawn(
            "redis",
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        )

        def ping() -> bool:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")

        _wait_for(ping, "redis")
        return f"redis://127.0.0.1:{port}/0"

    def restart_redis(self) -> str:
        """Start Redis again on the port it had (after kill("redis")): empty, like a crash."""
        return self.start_redis(port=self.redis_port)

    # --- the application --------------------------------------------------------------
    def manage(self, *args: str, env: dict[str, str], timeout: float | None = None, stream: bool = False) -> str:
        cmd = [sys.executable, "manage.py", *args]
        if stream:  # progress bars go straight to the caller's terminal
            subprocess.run(cmd, cwd=ROOT, env=env, check=True, timeout=timeout)
            return ""
        result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
        return result.stdout

    def start_wechat_standin(self, env: dict[str, str]) -> str:
        port = free_port(self.ports)
        self.spawn("wechat-standin", [sys.executable, "manage.py", "wechat_standin", "--port", str(port)], env=env)
        url = f"http://127.0.0.1:{port}/"
        _wait_for(lambda: http_ok(url + "__standin__/state"), "wechat stand-in", 30)
        return url

    def start_uvicorn(
        self, env: dict[str, str], *, workers: int, name: str = "uvicorn", port: int | None = None
    ) -> str:
        port = port or free_port(self.ports)
        self.spawn(
            name,
            [
                sys.executable,
                "-m",
                "uvicorn",
                "config.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(workers),
                "--loop",
                "uvloop",
                "--http",
                "httptools",
                "--lifespan",
                "off",
                "--no-access-log",
                "--log-level",
                "warning",
                *UVICORN_WS_FLAGS,
            ],
            env=env,
        )
        base = f"http://127.0.0.1:{port}"
        _wait_for(lambda: http_ok(base + "/healthz"), name, 60)
        return base

    def start_workers(self, env: dict[str, str], count: int) -> None:
        for i in range(count):
            self.spawn(
                f"db_worker-{i + 1}",
                [sys.executable, "manage.py", "db_worker", "--queue-name", "default,wechat", "--no-reload"],
                env=env,
            )

    def start_scheduler(self, env: dict[str, str], *, max_interval: int | None = None) -> None:
        """`manage.py run_scheduler`; `max_interval` shortens every interval job's period to that
        many seconds (SCHEDULER_INTERVAL_SECONDS; tests). Daily cron jobs keep their time."""
        if max_interval is not None:
            env = {**env, "SCHEDULER_INTERVAL_SECONDS": str(max_interval)}
        self.spawn("scheduler", [sys.executable, "manage.py", "run_scheduler"], env=env)

    def kill(self, name: str) -> None:
        """SIGKILL a process this stack spawned, and its group: a crash, no clean shutdown.
        It is forgotten, so the same name can be started again."""
        for index, (proc_name, proc) in enumerate(self.procs):
            if proc_name == name:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=10)
                del self.procs[index]
                return
        raise KeyError(name)

    def pid_of(self, name: str) -> int:
        """The pid of a process this stack spawned (a uvicorn started with workers=1 serves itself)."""
        return next(proc.pid for proc_name, proc in self.procs if proc_name == name)

    # --- teardown ---------------------------------------------------------------------
    def stop(self) -> None:
        for _name, proc in reversed(self.procs):
            _stop_group(proc)
        self.procs.clear()
        if self.pg_started and self.pgdata is not None:
            try:
                _as_postgres(f"{PGBIN}/pg_ctl -D '{self.pgdata}' -m fast -w -t 60 stop")
            except Exception:
                _as_postgres(f"{PGBIN}/pg_ctl -D '{self.pgdata}' -m immediate stop", check=False)
            self.pg_started = False
        if not self.keep_pgdata and self.workdir is not None and self.workdir.name.startswith("stq-bench."):
            shutil.rmtree(self.workdir, ignore_errors=True)


def _stop_group(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=5)


def _as_postgres(command: str, check: bool = True) -> None:
    if os.geteuid() == 0:
        args = ["su", "postgres", "-s", "/bin/sh", "-c", command]
    else:
        args = ["/bin/sh", "-c", command]
    result = subprocess.run(args, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise RuntimeError(f"{command!r} failed: {result.stdout[-1000:]} {result.stderr[-2000:]}")
