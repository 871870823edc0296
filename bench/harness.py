"""What every benchmark of bench/ shares: a fresh PostgreSQL database and Redis database,
`manage.py` with the bench's environment, gunicorn started as production runs it, wrk and its
output (the CPU accounting is bench/cpu.py).

Used by run.py (`make bench`) and the capability benches beside it (booking.py, campaigns.py,
messaging.py, dashboard.py, profile_request.py).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse, urlunparse

REPO = Path(__file__).resolve().parent.parent


RESULTS_DIR = REPO / "bench" / "results"


BIN = Path(sys.executable).parent


DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/leadhub_bench"
APP_ROLE = "leadhub_app"
OPERATOR_ROLE = "leadhub_operator"  # the seeding (operator path `bench`), as worker and beat


DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"


# Production's web process (docker-compose / Dockerfile): these flags are the point.
GUNICORN_ARGS = [
    "leadhub.wsgi:application",
    "--workers",
    "3",
    "--worker-class",
    "leadhub.web_worker.ThreadWorker",
    "--threads",
    "24",
]


WRK_THREADS = 2


WRK_CONNECTIONS = 16


WARMUP_SECONDS = 2


# High enough that the limiter counts every API request in Redis and never refuses one.
API_RATE_PER_MINUTE = 100_000_000


class BenchError(Exception):
    """The bench could not run or its measurement is invalid (not: the target was missed)."""


@dataclass
class Context:
    """What scenarios may use: the server and the credentials of the Bench workspace."""

    base_url: str
    credentials: dict
    database_url: str = ""
    # Requests answered per scenario, warm-up included (what the server accepted).
    accepted: dict[str, int] = field(default_factory=dict)


@dataclass
class Scenario:
    """One URL under load. `lua` is a wrk script body (it may set wrk.method/wrk.body or define
    request()/response()); `method` and `body` other than GET/None are turned into one."""

    name: str
    path: str
    description: str = ""
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None
    lua: str | None = None
    expect_status: int = 200  # what one probe request before the load must answer
    # Checks after the load (e.g. that every accepted lead was stored); returns problems.
    after: Callable[[Context, WrkResult], list[str]] | None = None


@dataclass
class WrkResult:
    requests: int
    seconds: float
    req_per_sec: float
    latency_ms: dict[str, float]  # "50", "75", "90", "99"
    non_2xx: int  # wrk's "Non-2xx or 3xx responses" (it counts status >= 400)
    socket_errors: dict[str, int]  # connect, read, write, timeout
    raw: str

    @property
    def errors(self) -> list[str]:
        problems = []
        if self.non_2xx:
            problems.append(f"{self.non_2xx} non-2xx responses")
        bad = {kind: n for kind, n in self.socket_errors.items() if n}
        if bad:
            problems.append("socket errors " + ", ".join(f"{kind} {n}" for kind, n in bad.items()))
        if self.requests == 0:
            problems.append("no requests completed")
        return problems


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _to_ms(value: str, unit: str) -> float:
    return float(value) * _UNITS_MS[unit]


def parse_wrk(output: str) -> WrkResult:
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    total = re.search(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h)", output, re.M)
    if not rps or not total:
        raise BenchError(f"could not parse wrk's output:\n{output}")
    latency = {
        pct: round(_to_ms(value, unit), 3)
        for pct, value, unit in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s|m|h)\s*$", output, re.M)
    }
    if set(latency) != {"50", "75", "90", "99"}:
        raise BenchError(f"wrk printed no latency distribution (was --latency passed?):\n{output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return WrkResult(
        requests=int(total.group(1)),
        seconds=round(_to_ms(total.group(2), total.group(3)) / 1000, 3),
        req_per_sec=float(rps.group(1)),
        latency_ms=latency,
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=dict(zip(("connect", "read", "write", "timeout"), map(int, sock.groups()), strict=True))
        if sock
        else {"connect": 0, "read": 0, "write": 0, "timeout": 0},
        raw=output,
    )


def lua_string(text: str) -> str:
    """A Lua string literal of `text` (its UTF-8 bytes; anything unprintable as a decimal escape)."""
    out = []
    for byte in text.encode():
        char = chr(byte)
        if char in {'"', "\\"}:
            out.append("\\" + char)
        elif 32 <= byte < 127:
            out.append(char)
        else:
            out.append(f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


def _lua_script(scenario: Scenario) -> str | None:
    parts = []
    if scenario.method != "GET":
        parts.append(f"wrk.method = {lua_string(scenario.method)}")
    if scenario.body is not None:
        parts.append(f"wrk.body = {lua_string(scenario.body)}")
    if scenario.lua:
        parts.append(scenario.lua)
    return "\n".join(parts) + "\n" if parts else None


# --- wrk -----------------------------------------------------------------------------------


_wrk_runs = 0


def run_wrk(
    scenario: Scenario,
    base_url: str,
    *,
    duration: float,
    threads: int = WRK_THREADS,
    connections: int = WRK_CONNECTIONS,
) -> WrkResult:
    """wrk -t{threads} -c{connections} -d{duration}s --latency against the scenario's URL."""
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration:g}s", "--latency"]
    for name, value in scenario.headers.items():
        cmd += ["-H", f"{name}: {value}"]
    script = _lua_script(scenario)
    with tempfile.TemporaryDirectory(prefix="leadhub-bench-") as tmp:
        if script:
            path = Path(tmp) / f"{scenario.name}.lua"
            path.write_text(script)
            cmd += ["-s", str(path)]
        cmd.append(base_url + scenario.path)
        global _wrk_runs
        _wrk_runs += 1
        env = {**os.environ, "LEADHUB_BENCH_RUN": str(_wrk_runs)}
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60, check=False, env=env)
    if proc.returncode != 0:
        raise BenchError(f"wrk failed ({proc.returncode}): {proc.stderr or proc.stdout}")
    return parse_wrk(proc.stdout)


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        raise BenchError("wrk is not installed and this is not root: install it (Debian: apt-get install -y wrk)")
    print("wrk not found: apt-get install -y wrk", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "wrk"]
    if subprocess.run(install, env=env, check=False).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, check=False)
        subprocess.run(install, env=env, check=False)
    found = shutil.which("wrk")
    if not found:
        raise BenchError("apt-get could not install wrk; install it by hand")
    return found


def wrk_version() -> str:
    proc = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    return (proc.stdout or proc.stderr).splitlines()[0].strip() if (proc.stdout or proc.stderr) else "?"


# --- Database, Redis, Django ---------------------------------------------------------------


def reset_database(url: str) -> None:
    """DROP and CREATE the database named in `url`, connected to the server's `postgres` one."""
    import psycopg
    from psycopg import sql

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    if parsed.scheme not in {"postgres", "postgresql", "pgsql"} or not name:
        raise BenchError(f"BENCH_DATABASE_URL must be postgres://…/<database>, not {url!r}")
    admin_url = urlunparse(parsed._replace(scheme="postgresql", path="/postgres"))
    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error as exc:
        raise BenchError(f"PostgreSQL at {parsed.hostname}:{parsed.port or 5432}: {exc}") from exc


def flush_redis(url: str) -> None:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).flushdb()
    except redis.RedisError as exc:
        raise BenchError(f"Redis at {url}: {exc}") from exc


def manage(*args: str, env: dict[str, str]) -> str:
    proc = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise BenchError(f"manage.py {' '.join(args)} failed:\n{proc.stdout}{proc.stderr}")
    return proc.stdout


def server_env(database_url: str, redis_url: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        # Nothing of the caller's LeadHub settings leaks in: the bench sets what it means.
        if key not in {"CELERY_BROKER_URL", "DATABASE_CONN_MAX_AGE", "LEADHUB_VAR_DIR", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        LOG_LEVEL="WARNING",
        DEBUG="false",
        PYTHONUNBUFFERED="1",
        # Served as in production, under row-level security: the login (postgres) migrates and
        # owns the tables, the servers take the app's role (README: row-level security).
        DATABASE_ROLE=APP_ROLE,
        DATABASE_OPERATOR_ROLE=OPERATOR_ROLE,
        RLS_ALLOW_PRIVILEGED_LOGIN="true",  # the login (postgres) created the database
    )
    return env


def migrate(env: dict[str, str]) -> None:
    """Migrate as the login (the tables' owner), then grant the app's role (manage.py approle)."""
    roles = {"DATABASE_ROLE", "DATABASE_OPERATOR_ROLE", "RLS_ALLOW_PRIVILEGED_LOGIN"}
    owner = {key: value for key, value in env.items() if key not in roles}
    manage("migrate", "--noinput", env=owner)
    manage("approle", APP_ROLE, env=owner)
    manage("approle", OPERATOR_ROLE, env=owner)


def prepare(database_url: str, redis_url: str) -> tuple[dict[str, str], dict]:
    """A fresh database and Redis, migrated, with the Bench workspace: (server env, its credentials)."""
    reset_database(database_url)
    flush_redis(redis_url)
    env = server_env(database_url, redis_url)
    migrate(env)
    rate = str(API_RATE_PER_MINUTE)
    output = manage(
        "createworkspace", "Bench", "--plan", "enterprise", "--api-rate", rate, "--intake-rate", rate, "--json", env=env
    )
    credentials = json.loads(next(line for line in reversed(output.splitlines()) if line.startswith("{")))
    return env, credentials


# --- gunicorn ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """gunicorn in its own process group, its output in a log file; a context manager."""

    def __init__(self, env: dict[str, str], log_path: Path):
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        # gunicorn 27 keeps a control socket, by default ~/.gunicorn/gunicorn.ctl, shared by
        # every gunicorn of the user and unlinked when one stops: the bench's would take over
        # (and then delete) that of a `make run` beside it. A private path changes nothing of
        # how requests are served.
        self._tmp = tempfile.TemporaryDirectory(prefix="leadhub-bench-")
        self.command = [
            str(BIN / "gunicorn"),
            *GUNICORN_ARGS,
            "--bind",
            f"127.0.0.1:{self.port}",
            "--control-socket",
            str(Path(self._tmp.name) / "gunicorn.ctl"),
        ]
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("w")
        # No --access-logfile: gunicorn then writes no access log at all.
        self.proc = subprocess.Popen(
            self.command, cwd=REPO, env=self.env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        return self

    def wait_ready(self, path: str = "/livez", timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"gunicorn exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.base_url + path, timeout=1) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        raise BenchError(f"gunicorn did not answer {path} within {timeout:g} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text().splitlines()[-lines:])
        except OSError:
            return ""

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self._terminate()
        self._log.close()
        self._tmp.cleanup()

    def _terminate(self) -> None:
        # SIGTERM to the master (by its pid): it stops its workers gracefully.
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)  # the group of the session we started
            self.proc.wait(timeout=5)


def probe(base_url: str, scenario: Scenario) -> None:
    """One request before the load: the scenario must answer exactly its expected status.
    (wrk's own count only catches statuses >= 400.) Scripted scenarios check themselves."""
    if scenario.lua is not None:
        return
    request = urllib.request.Request(
        base_url + scenario.path,
        method=scenario.method,
        headers=scenario.headers,
        data=scenario.body.encode() if scenario.body is not None else None,
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, body = response.status, response.read(500)
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read(500)
    if status != scenario.expect_status:
        raise BenchError(
            f"{scenario.name}: {scenario.method} {scenario.path} answered {status}, "
            f"not {scenario.expect_status}: {body.decode(errors='replace')}"
        )


def git_revision() -> dict:
    def git(*args: str) -> str:
        proc = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False)
        return proc.stdout.strip()

    return {"commit": git("rev-parse", "--short", "HEAD"), "dirty": bool(git("status", "--porcelain"))}
