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
import signal
import sys
from datetime import UTC, datetime
from urllib.parse import urlparse

import large  # bench/large.py (beside this script): the 1,000,000-contact reads
from cpu import BUSY_WARNING, CpuWatch, cpu_per_request, machine_busy  # bench/cpu.py
from harness import (  # bench/harness.py: the database, gunicorn and wrk
    API_RATE_PER_MINUTE,
    DEFAULT_DATABASE_URL,
    DEFAULT_REDIS_URL,
    GUNICORN_ARGS,
    REPO,
    RESULTS_DIR,
    WARMUP_SECONDS,
    WRK_CONNECTIONS,
    WRK_THREADS,
    BenchError,
    Context,
    Scenario,
    Server,
    WrkResult,
    ensure_wrk,
    git_revision,
    prepare,
    probe,
    run_wrk,
    wrk_version,
)

TRIVIAL = "trivial"
TARGET_SCENARIO = "workspace"
INTAKE = "intake"
# The issues' targets: throughput as a share of the trivial view's, and p99 where one is set.
TARGETS = [
    {"scenario": TARGET_SCENARIO, "label": "authenticated GET /api/v1/workspace", "ratio": 0.6, "p99_ms": None},
    {"scenario": INTAKE, "label": "lead intake POST /api/v1/webhook/forms", "ratio": 0.4, "p99_ms": 50.0},
]

NOTES = [
    f"The Bench workspace has --api-rate {API_RATE_PER_MINUTE}: the rate limiter counts every API "
    "request in Redis but never refuses one.",
    "gunicorn runs without an access log (production logs access, but not to a terminal we measure); "
    "LOG_LEVEL=WARNING.",
    f"wrk and gunicorn share this machine's {os.cpu_count()} CPU(s): absolute req/s are for comparing "
    "runs on the same machine; the ratio to the trivial view is the portable figure.",
]


# --- Scenarios -----------------------------------------------------------------------------


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
            large_rows = large.measure(server.base_url, credentials["api_key"], args.contacts, watch=watch)
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
