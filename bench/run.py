"""`make bench`: LeadHub under gunicorn as production runs it, measured with wrk.

Each run starts from nothing: it drops and recreates the PostgreSQL database, flushes the
Redis database, migrates, creates one workspace, starts gunicorn with production's flags on
a free port, warms every URL up, measures each scenario with wrk, prints a table, writes the
same as JSON to bench/results/<timestamp>.json, and stops gunicorn (also on Ctrl-C).

    .venv/bin/python bench/run.py [--duration 15] [--strict]

Environment: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/leadhub_bench;
dropped and recreated every run), BENCH_REDIS_URL (default redis://127.0.0.1:6379/14;
flushed every run). See bench/README.md.

Adding a scenario: append a `Scenario` to what `scenarios()` returns; a POST or a request
that varies (e.g. a unique phone number per request) gets a wrk Lua script in `lua`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
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
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import large  # bench/large.py (beside this script): the 1,000,000-contact reads

REPO = Path(__file__).resolve().parent.parent

RESULTS_DIR = REPO / "bench" / "results"
BIN = Path(sys.executable).parent

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/leadhub_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"

# Production's web process (docker-compose / Dockerfile): these flags are the point.
GUNICORN_ARGS = ["leadhub.wsgi:application", "--workers", "3", "--worker-class", "gthread", "--threads", "24"]
WRK_THREADS = 2
WRK_CONNECTIONS = 16
WARMUP_SECONDS = 2
# High enough that the limiter counts every API request in Redis and never refuses one.
API_RATE_PER_MINUTE = 100_000_000
TRIVIAL = "trivial"
TARGET_SCENARIO = "workspace"
INTAKE = "intake"
# The issues' targets: throughput as a share of the trivial view's, and p99 where one is set.
TARGETS = [
    {"scenario": TARGET_SCENARIO, "label": "authenticated GET /api/v1/workspace", "ratio": 0.6, "p99_ms": None},
    {"scenario": INTAKE, "label": "lead intake POST /api/v1/webhook/forms", "ratio": 0.4, "p99_ms": 50.0},
]
BUSY_WARNING = 0.15  # share of the CPUs busy before the bench above which it warns

NOTES = [
    f"The Bench workspace has --api-rate {API_RATE_PER_MINUTE}: the rate limiter counts every API "
    "request in Redis but never refuses one.",
    "gunicorn runs without an access log (production logs access, but not to a terminal we measure); "
    "LOG_LEVEL=WARNING.",
    f"wrk and gunicorn share this machine's {os.cpu_count()} CPU(s): absolute req/s are for comparing "
    "runs on the same machine; the ratio to the trivial view is the portable figure.",
]


class BenchError(Exception):
    """The bench could not run or its measurement is invalid (not: the target was missed)."""


# --- Scenarios -----------------------------------------------------------------------------


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
class Context:
    """What scenarios may use: the server and the credentials of the Bench workspace."""

    base_url: str
    credentials: dict
    database_url: str = ""
    # Requests answered per scenario, warm-up included (what the server accepted).
    accepted: dict[str, int] = field(default_factory=dict)


def scenarios(ctx: Context) -> list[Scenario]:
    auth = {"Authorization": f"Bearer {ctx.credentials['api_key']}"}
    return [
        Scenario(TRIVIAL, "/livez", "trivial view: no database, cache or broker"),
        Scenario(
            TARGET_SCENARIO,
            "/api/v1/workspace",
            "API key auth + plan/scope permissions + Redis rate limit + serializer",
            headers=auth,
        ),
        Scenario(
            INTAKE,
            "/api/v1/webhook/forms",
            "lead intake: a new contact per request (unique phone), JSON, token in the body",
            method="POST",
            # A key whose only scope is intake, as a token in a body must be (SPEC §5.1), when
            # createworkspace gives one.
            lua=INTAKE_LUA.replace("API_TOKEN", ctx.credentials.get("intake_key") or ctx.credentials["api_key"]),
            after=intake_all_stored,
        ),
    ]


# Each wrk thread posts new phone numbers: its own area code, and numbers counted up from a
# block that depends on LEADHUB_BENCH_RUN (a new value for every wrk run, warm-up included),
# so no number repeats within a bench. Exchanges N20-N99 only (N11 numbers are not valid).
# Any answer but 201 is counted and printed as NON201.
INTAKE_LUA = r"""
local threads = {}
local areas = {"818", "213", "310", "415"}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end
function init(args)
  n = 0
  non201 = 0
  run = tonumber(os.getenv("LEADHUB_BENCH_RUN") or "0")
  area = areas[(id % #areas) + 1]
end
function request()
  local block = run * 8 + math.floor(n / 10000)
  local exchange = 200 + (block % 8) * 100 + 20 + (math.floor(block / 8) % 80)
  local phone = string.format("+1%s%03d%04d", area, exchange, n % 10000)
  n = n + 1
  local body = '{"api_token": "API_TOKEN", "phone_number": "' .. phone .. '", "name": "Bench Lead", '
    .. '"email": "lead' .. phone:sub(2) .. '@example.com", "lead_source": "bench", "utm_source": "wrk"}'
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
function response(status, headers, body)
  if status ~= 201 then non201 = non201 + 1 end
end
function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("non201") end
  io.write(string.format("NON201 %d\n", total))
end
"""


def intake_all_stored(ctx: Context, result: WrkResult) -> list[str]:
    """Every accepted lead is stored: as many contacts as 201 answers (warm-up included)."""
    problems = []
    non201 = re.search(r"^NON201 (\d+)$", result.raw, re.M)
    if non201 is None or int(non201.group(1)):
        problems.append(f"intake answered other than 201 {non201.group(1) if non201 else '?'} times")
    import psycopg

    with psycopg.connect(ctx.database_url) as conn:
        stored = conn.execute("SELECT count(*) FROM crm_contact").fetchone()[0]
    if stored < ctx.accepted.get(INTAKE, 0):
        problems.append(f"{ctx.accepted[INTAKE]} leads accepted but {stored} stored")
    return problems


# --- wrk -----------------------------------------------------------------------------------


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
    )
    return env


def prepare(database_url: str, redis_url: str) -> tuple[dict[str, str], dict]:
    """A fresh database and Redis, migrated, with the Bench workspace: (server env, its credentials)."""
    reset_database(database_url)
    flush_redis(redis_url)
    env = server_env(database_url, redis_url)
    manage("migrate", "--noinput", env=env)
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

    def wait_ready(self, path: str = "/livez", timeout: float = 30) -> None:
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


# --- CPU accounting (Linux /proc) ----------------------------------------------------------


@dataclass(frozen=True)
class CpuWatch:
    """Which processes' CPU a scenario is charged with: gunicorn (master and workers), the
    PostgreSQL backends of the bench database, the Redis server on the bench port, and wrk."""

    gunicorn_pid: int
    database: str
    redis_port: int

    def snapshot(self) -> dict[str, float] | None:
        if not Path("/proc/stat").exists():
            return None
        ticks = os.sysconf("SC_CLK_TCK")
        totals = {"gunicorn": 0.0, "postgres": 0.0, "redis": 0.0}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue  # gone meanwhile
            comm = stat[stat.index("(") + 1 : stat.rindex(")")]
            fields = stat[stat.rindex(")") + 2 :].split()
            ppid, cpu = int(fields[1]), (int(fields[11]) + int(fields[12])) / ticks
            if int(entry.name) == self.gunicorn_pid or ppid == self.gunicorn_pid:
                totals["gunicorn"] += cpu
            elif comm.startswith("postgres") and f" {self.database} " in cmdline:
                totals["postgres"] += cpu
            elif comm.startswith("redis-server") and f":{self.redis_port}" in cmdline:
                totals["redis"] += cpu
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk, once it has been waited for
        totals["wrk"] = usage.ru_utime + usage.ru_stime
        return totals


def cpu_per_request(before: dict | None, after: dict | None, requests: int) -> dict[str, float] | None:
    if before is None or after is None or not requests:
        return None
    return {name: round((after[name] - before[name]) * 1000 / requests, 3) for name in before}


def machine_busy(seconds: float = 1.0) -> float | None:
    """The share of all CPUs busy over `seconds`, before the bench starts anything."""

    def sample() -> tuple[int, int]:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        idle = values[3] + values[4]  # idle + iowait
        return sum(values), idle

    try:
        total1, idle1 = sample()
        time.sleep(seconds)
        total2, idle2 = sample()
    except (OSError, ValueError, IndexError):
        return None
    return round(1 - (idle2 - idle1) / max(1, total2 - total1), 3)


# --- Report --------------------------------------------------------------------------------


def _fmt(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def table(rows: list[dict]) -> str:
    columns = [
        ("scenario", lambda r: r["name"]),
        ("req/s", lambda r: f"{r['req_per_sec']:.0f}"),
        ("p50 ms", lambda r: f"{r['latency_ms']['50']:.2f}"),
        ("p99 ms", lambda r: f"{r['latency_ms']['99']:.2f}"),
        ("× trivial", lambda r: _fmt(r["ratio_to_trivial"], 2)),
        ("non-2xx", lambda r: str(r["non_2xx"])),
        # CPU milliseconds spent per request, by process group (see CpuWatch)
        ("cpu app", lambda r: _fmt((r["cpu_ms_per_request"] or {}).get("gunicorn"), 2)),
        ("cpu pg", lambda r: _fmt((r["cpu_ms_per_request"] or {}).get("postgres"), 2)),
        ("cpu redis", lambda r: _fmt((r["cpu_ms_per_request"] or {}).get("redis"), 2)),
        ("cpu wrk", lambda r: _fmt((r["cpu_ms_per_request"] or {}).get("wrk"), 2)),
        ("cpu × trivial", lambda r: _fmt(r["cpu_ratio_to_trivial"], 2)),
    ]
    cells = [[title for title, _ in columns]] + [[cell(row) for _, cell in columns] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]

    def line(values: list[str]) -> str:
        return "  ".join(
            value.ljust(width) if i == 0 else value.rjust(width)
            for i, (value, width) in enumerate(zip(values, widths, strict=True))
        )

    return "\n".join([line(cells[0]), line(["-" * w for w in widths]), *(line(c) for c in cells[1:])])


def git_revision() -> dict:
    def git(*args: str) -> str:
        proc = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False)
        return proc.stdout.strip()

    return {"commit": git("rev-parse", "--short", "HEAD"), "dirty": bool(git("status", "--porcelain"))}


# --- Measure -------------------------------------------------------------------------------


def measure(scenario: Scenario, ctx: Context, watch: CpuWatch, *, duration: float, warmup: float) -> dict:
    """Probe, warm up, then measure one scenario; its row of the report."""
    base_url = ctx.base_url
    probe(base_url, scenario)
    accepted = 0
    if warmup > 0:
        accepted += run_wrk(scenario, base_url, duration=warmup).requests
    print(
        f"wrk -t{WRK_THREADS} -c{WRK_CONNECTIONS} -d{duration:g}s --latency {scenario.method} {scenario.path} …",
        flush=True,
    )
    before = watch.snapshot()
    result = run_wrk(scenario, base_url, duration=duration)
    after = watch.snapshot()
    ctx.accepted[scenario.name] = accepted + result.requests
    problems = result.errors + (scenario.after(ctx, result) if scenario.after else [])
    return {
        "name": scenario.name,
        "path": scenario.path,
        "method": scenario.method,
        "description": scenario.description,
        "requests": result.requests,
        "seconds": result.seconds,
        "req_per_sec": result.req_per_sec,
        "latency_ms": result.latency_ms,
        "non_2xx": result.non_2xx,
        "socket_errors": result.socket_errors,
        "problems": problems,
        "ratio_to_trivial": None,
        "cpu_ratio_to_trivial": None,
        "cpu_ms_per_request": cpu_per_request(before, after, result.requests),
        "wrk_output": result.raw,
    }


def _cpu_total(row: dict) -> float | None:
    """CPU ms per request of everything the request touches (app, database, Redis, wrk)."""
    cpu = row.get("cpu_ms_per_request")
    return sum(cpu.values()) if cpu else None


# --- Main ----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=15, help="seconds of wrk per scenario (default 15)")
    parser.add_argument("--warmup", type=float, default=WARMUP_SECONDS, help="seconds of warm-up per URL")
    parser.add_argument(
        "--only", action="append", metavar="NAME", help="run only these scenarios (the trivial one always runs)"
    )
    parser.add_argument("--strict", action="store_true", help="exit 2 when the target is missed (for CI)")
    parser.add_argument(
        "--contacts",
        type=int,
        default=1_000_000,
        help="contacts to seed for the read timings (default 1,000,000; 0 skips them)",
    )
    args = parser.parse_args(argv)

    database_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL)
    started = datetime.now(UTC)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")

    ensure_wrk()
    busy, load_before = machine_busy(), os.getloadavg()
    notes = list(NOTES)
    if busy is not None:
        print(f"CPU busy before the bench: {busy:.0%} of {os.cpu_count()} CPU(s)", flush=True)
        if busy > BUSY_WARNING:
            notes.append(
                f"The machine was {busy:.0%} busy before the bench started: other work competes for the CPUs "
                "and every figure is lower and noisier than on an idle machine."
            )
    print(f"PostgreSQL {database_url} (dropped and recreated); Redis {redis_url} (flushed)", flush=True)
    env, credentials = prepare(database_url, redis_url)

    rows: list[dict] = []
    problems: list[str] = []
    server = Server(env, RESULTS_DIR / f"{stamp}.gunicorn.log")
    with server:
        print(f"gunicorn {' '.join(server.command[1:])}", flush=True)
        server.wait_ready()
        ctx = Context(base_url=server.base_url, credentials=credentials, database_url=database_url)
        watch = CpuWatch(
            gunicorn_pid=server.proc.pid,
            database=urlparse(database_url).path.lstrip("/"),
            redis_port=urlparse(redis_url).port or 6379,
        )
        chosen = [s for s in scenarios(ctx) if not args.only or s.name in args.only or s.name == TRIVIAL]
        for scenario in chosen:
            rows.append(measure(scenario, ctx, watch, duration=args.duration, warmup=args.warmup))
            if rows[-1]["problems"]:
                problems.append(f"{scenario.name}: {'; '.join(rows[-1]['problems'])}")
        large_rows: list[dict] = []
        if args.contacts > 0:
            print(f"seeding {args.contacts:,} contacts …", flush=True)
            seeded_in = large.seed(database_url, credentials["workspace_id"], args.contacts)
            large_rows = large.measure(server.base_url, credentials["api_key"], args.contacts)
        if server.proc.poll() is not None:
            problems.append(f"gunicorn died during the run:\n{server.log_tail()}")

    trivial_rps = next(row["req_per_sec"] for row in rows if row["name"] == TRIVIAL)
    trivial_cpu = _cpu_total(next(row for row in rows if row["name"] == TRIVIAL))
    for row in rows:
        row["ratio_to_trivial"] = round(row["req_per_sec"] / trivial_rps, 3) if trivial_rps else None
        cpu = _cpu_total(row)
        row["cpu_ratio_to_trivial"] = round(trivial_cpu / cpu, 3) if trivial_cpu and cpu else None
    targets = []
    for goal in TARGETS:
        row = next((row for row in rows if row["name"] == goal["scenario"]), None)
        if row is None:
            continue
        ratio, p99 = row["ratio_to_trivial"], row["latency_ms"]["99"]
        passed = ratio is not None and ratio >= goal["ratio"] and (goal["p99_ms"] is None or p99 <= goal["p99_ms"])
        targets.append({**goal, "measured_ratio": ratio, "measured_p99_ms": p99, "pass": passed})

    print()
    print(table(rows))
    print(
        "cpu app/pg/redis/wrk: CPU ms per request of gunicorn, the bench database's PostgreSQL backends,\n"
        "redis-server and wrk; cpu × trivial: trivial's CPU per request over this one's, what × trivial\n"
        "tends to when the CPUs are the bottleneck (it is less disturbed by other load on the machine)."
    )
    print()
    for target in targets:
        verdict = "PASS" if target["pass"] else "FAIL"
        p99 = f", p99 ≤ {target['p99_ms']:g} ms ({target['measured_p99_ms']:.1f})" if target["p99_ms"] else ""
        print(f"{target['label']} ≥ {target['ratio']} × trivial ({target['measured_ratio']:.2f}){p99}: {verdict}")
    if large_rows:
        print(large.report(large_rows, args.contacts, seeded_in))
    for note in notes:
        print(f"note: {note}")
    for problem in problems:
        print(f"BENCH FAILED: {problem}", file=sys.stderr)

    report = {
        "timestamp": started.isoformat(timespec="seconds"),
        "ok": not problems,
        "problems": problems,
        "targets": targets,
        "scenarios": rows,
        "large": {"contacts": args.contacts, "reads": large_rows},
        "config": {
            "gunicorn": ["gunicorn", *GUNICORN_ARGS, "--bind", "127.0.0.1:<free port>", "--control-socket", "<tmp>"],
            "wrk": {"threads": WRK_THREADS, "connections": WRK_CONNECTIONS, "duration_s": args.duration},
            "warmup_s": args.warmup,
            "database": database_url,
            "redis": redis_url,
            "api_rate_per_minute": API_RATE_PER_MINUTE,
            "log_level": "WARNING",
            "access_log": False,
        },
        "machine": {
            "cpus": os.cpu_count(),
            "busy_before": busy,
            "load_average_before": load_before,
            "python": platform.python_version(),
            "platform": platform.platform(),
            "wrk": wrk_version(),
        },
        "git": git_revision(),
        "notes": notes,
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"{stamp}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"results: {out.relative_to(REPO)}")

    if problems:
        return 1
    if args.strict and not all(target["pass"] for target in targets):
        return 2
    return 0


def _terminate(signum, frame):  # SIGTERM behaves like Ctrl-C: unwind, stop gunicorn
    raise KeyboardInterrupt


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _terminate)
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("bench: interrupted; gunicorn stopped", file=sys.stderr)
        sys.exit(130)
