"""The 1,000,000-contact part of `make bench`: seed one workspace in bulk, then time the reads
a dashboard and a partner make most, one request at a time, and report p50/p95.

Targets (issue 8): first contacts page ≤ 30 ms, exact lookup by e-mail and by phone ≤ 10 ms,
stats ≤ 50 ms (p95). The search by a part of a phone number written with separators (100
matches: the first page and a next link) is timed beside them, without a target.

Run as a script, it measures the same reads again on the database that the last
`bench/run.py` left (migrated again, neither reset nor seeded; a new read-only API key of its
Bench workspace), through gunicorn as run.py starts it: seconds instead of minutes, for timing
a change to the code. Same environment (BENCH_DATABASE_URL, BENCH_REDIS_URL):

    .venv/bin/python bench/large.py [--samples 100]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime

import psycopg
from cpu import CpuWatch, cpu_per_request, machine_busy  # bench/cpu.py (beside this script)

PHONE_AREA = "650"  # apart from the intake scenario's numbers (818, 213)
SAMPLES = 100
WARMUP = 5

TARGETS_MS = {"first page": 30.0, "search by e-mail": 10.0, "search by phone": 10.0, "stats": 50.0}

# Every column of crm_contact with the SQL that fills it for row i (1..n). Django sets
# defaults in Python, not in the database, so each NOT NULL column needs a value here.
_COLUMNS = {
    "id": "gen_random_uuid()",
    "workspace_id": "%(workspace)s",
    "phone_number": (
        f"'+1{PHONE_AREA}' || (200 + ((i - 1) / 10000 % 8) * 100 + 20 + ((i - 1) / 80000 % 80))::text"
        " || lpad(((i - 1) % 10000)::text, 4, '0')"
    ),
    "email": "'lead' || i || '@example.com'",
    "name": "'Lead ' || i",
    "first_name": "'Lead'",
    "last_name": "i::text",
    "other_phone_numbers": "'[]'::jsonb",
    "company_name": "'Company ' || (i % 5000)",
    "website": "''",
    "address": "''",
    "city": "'Palo Alto'",
    "state": "'California'",
    "zipcode": "''",
    "country": "'US'",
    "timezone": "'America/Los_Angeles'",
    "lead_source": "(ARRAY['facebook', 'google', 'referral', 'website'])[1 + i % 4]",
    "source": "'bench-seed'",
    "notes": "''",
    "csf1": "''",
    "csf2": "''",
    "custom_fields": "'{}'::jsonb",
    "message_count": "i % 12",
    # 60 % new, 20 % qualified, 10 % booked, 10 % won
    "status": "(ARRAY['new', 'new', 'new', 'new', 'new', 'new', 'qualified', 'qualified', 'booked', 'won'])"
    "[1 + i % 10]",
    "first_touch": "'{}'::jsonb",
    "latest_touch": "'{}'::jsonb",
    "sms_opt_out": "false",
    "created_at": "now() - (i % 525600) * interval '1 minute'",
    "updated_at": "now()",
}


def phone_of(i: int) -> str:
    """The seeded phone of row i, as the SQL above writes it."""
    block = (i - 1) // 10000
    exchange = 200 + (block % 8) * 100 + 20 + ((i - 1) // 80000 % 80)
    return f"+1{PHONE_AREA}{exchange}{(i - 1) % 10000:04d}"


def seed(database_url: str, workspace_id: str, count: int) -> float:
    """Insert `count` contacts into the workspace in one statement; seconds taken."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        required = {
            name
            for (name,) in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'crm_contact' "
                "AND is_nullable = 'NO' AND column_default IS NULL"
            )
        }
        missing = required - set(_COLUMNS)
        if missing:
            raise RuntimeError(f"bench/large.py does not fill the new NOT NULL columns {sorted(missing)}")
        started = time.perf_counter()
        columns = ", ".join(_COLUMNS)
        # %% is the modulo operator once psycopg has put in the parameters.
        values = ", ".join(_COLUMNS.values()).replace(" % ", " %% ")
        conn.execute(
            f"INSERT INTO crm_contact ({columns}) SELECT {values} FROM generate_series(1, %(count)s) AS i",
            {"workspace": workspace_id, "count": count},
        )
        # The daily counters the contact writer keeps for each lead (crm/stats/counters.py),
        # as the migration that introduced them counts existing leads.
        conn.execute(
            "INSERT INTO crm_dailyleadcount (workspace_id, day, source, shard, leads, hot, qualified, booked) "
            "SELECT workspace_id, (created_at AT TIME ZONE 'UTC')::date, source, 0, count(*), "
            "count(*) FILTER (WHERE message_count >= 5), count(*) FILTER (WHERE qualified_at IS NOT NULL), "
            "count(*) FILTER (WHERE status IN ('booked', 'won')) "
            "FROM crm_contact WHERE workspace_id = %(workspace)s GROUP BY 1, 2, 3 "
            "ON CONFLICT (workspace_id, day, source, shard) DO UPDATE SET leads = crm_dailyleadcount.leads + "
            "excluded.leads, hot = crm_dailyleadcount.hot + excluded.hot, qualified = crm_dailyleadcount.qualified "
            "+ excluded.qualified, booked = crm_dailyleadcount.booked + excluded.booked",
            {"workspace": workspace_id},
        )
        # What autovacuum does to a table in production: statistics, and the visibility map
        # that lets counts be answered from an index alone.
        conn.execute("VACUUM ANALYZE crm_contact")
        conn.execute("VACUUM ANALYZE crm_dailyleadcount")
        return time.perf_counter() - started


def _timed_get(base_url: str, path: str, headers: dict[str, str]) -> float:
    request = urllib.request.Request(base_url + path, headers=headers)
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
        if response.status != 200:
            raise RuntimeError(f"{path} answered {response.status}")
    return (time.perf_counter() - started) * 1000


def lookups(count: int) -> dict[str, str]:
    """The exact lookups, of the middle seeded contact: its e-mail, and its phone as people write it."""
    middle = phone_of(count // 2)
    return {
        "search by e-mail": "/api/v1/contacts?" + urllib.parse.urlencode({"q": f"lead{count // 2}@example.com"}),
        "search by phone": "/api/v1/contacts?"
        + urllib.parse.urlencode({"q": "(" + middle[2:5] + ") " + middle[5:8] + "-" + middle[8:]}),
    }


def partial_phone(count: int) -> str:
    """The middle seeded contact's phone without its last two digits, as people write it: the
    100 numbers of that block of the exchange."""
    middle = phone_of(count // 2)
    return "/api/v1/contacts?" + urllib.parse.urlencode({"q": f"({middle[2:5]}) {middle[5:8]}-{middle[8:10]}"})


def measure(base_url: str, api_key: str, count: int, samples: int = SAMPLES, watch=None) -> list[dict]:
    """p50/p95 of each read over `samples` sequential requests (after WARMUP); with `watch`
    (bench/cpu.py's CpuWatch), the CPU each process group spent per request too, which a
    loaded machine does not inflate as it does the wall time."""
    headers = {"Authorization": f"Bearer {api_key}"}
    reads = {
        "first page": "/api/v1/contacts",
        **lookups(count),
        "search part of a phone": partial_phone(count),
        "stats": "/api/v1/stats",
    }
    rows = []
    for name, path in reads.items():
        for _ in range(WARMUP):
            _timed_get(base_url, path, headers)
        before = watch.snapshot() if watch else None
        times = [_timed_get(base_url, path, headers) for _ in range(samples)]
        after = watch.snapshot() if watch else None
        times.sort()
        p95 = times[int(len(times) * 0.95) - 1]
        rows.append(
            {
                "read": name,
                "path": path,
                "p50_ms": round(statistics.median(times), 2),
                "p95_ms": round(p95, 2),
                "target_p95_ms": TARGETS_MS.get(name),
                "pass": p95 <= TARGETS_MS[name] if name in TARGETS_MS else None,
                "cpu_ms_per_request": cpu_per_request(before, after, samples),
            }
        )
    return rows


def report(rows: list[dict], count: int, seconds: float, samples: int = SAMPLES) -> str:
    seeded = f"seeded in {seconds:.0f} s" if seconds else "seeded by an earlier run"
    lines = [f"{count:,} contacts in one workspace ({seeded}); {samples} sequential requests each:"]
    for row in rows:
        target = row["target_p95_ms"]
        verdict = "(no target)" if target is None else f"(target ≤ {target:g} ms): {'PASS' if row['pass'] else 'FAIL'}"
        cpu = row.get("cpu_ms_per_request")
        spent = f"  cpu/request: app {cpu['gunicorn']:.2f} ms, pg {cpu['postgres']:.2f} ms" if cpu else ""
        lines.append(f"  {row['read']:<22} p50 {row['p50_ms']:7.2f} ms  p95 {row['p95_ms']:7.2f} ms  {verdict}{spent}")
    return "\n".join(lines)


def reuse(database_url: str, redis_url: str) -> tuple[dict[str, str], str, int]:
    """The last run's database, migrated again: (server env, a new read-only API key of the
    Bench workspace, how many contacts were seeded in it)."""
    import harness  # bench/harness.py (beside this script)

    with psycopg.connect(database_url, autocommit=True) as conn:
        found = conn.execute("SELECT id FROM accounts_workspace WHERE name = 'Bench'").fetchone()
        if found is None:
            raise harness.BenchError(f"{database_url} has no Bench workspace: run bench/run.py first")
        workspace_id = str(found[0])
        count = conn.execute(
            "SELECT count(*) FROM crm_contact WHERE workspace_id = %s AND source = 'bench-seed'", [workspace_id]
        ).fetchone()[0]
    if not count:
        raise harness.BenchError("the Bench workspace has no seeded contacts: run bench/run.py with --contacts")
    env = harness.server_env(database_url, redis_url)
    harness.migrate(env)
    # As the login that owns the tables (harness.migrate does the same), outside row-level security.
    roles = {"DATABASE_ROLE", "DATABASE_OPERATOR_ROLE", "RLS_ALLOW_PRIVILEGED_LOGIN"}
    owner = {key: value for key, value in env.items() if key not in roles}
    output = harness.manage(
        "createkey",
        "--workspace",
        workspace_id,
        "--scope",
        "contacts:read",
        "--scope",
        "stats:read",
        "--name",
        "bench/large.py",
        "--json",
        env=owner,
    )
    api_key = json.loads(next(line for line in reversed(output.splitlines()) if line.startswith("{")))["api_key"]
    return env, api_key, count


def main(argv: list[str] | None = None) -> int:
    import harness  # bench/harness.py (beside this script)

    parser = argparse.ArgumentParser(description="The 1,000,000-contact reads again, on the last run's database")
    parser.add_argument("--samples", type=int, default=SAMPLES, help=f"requests per read (default {SAMPLES})")
    args = parser.parse_args(argv)
    database_url = os.environ.get("BENCH_DATABASE_URL", harness.DEFAULT_DATABASE_URL)
    redis_url = os.environ.get("BENCH_REDIS_URL", harness.DEFAULT_REDIS_URL)
    env, api_key, count = reuse(database_url, redis_url)
    busy = machine_busy()
    if busy is not None:
        print(f"CPU busy before the reads: {busy:.0%} of {os.cpu_count()} CPU(s)", flush=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    with harness.Server(env, harness.RESULTS_DIR / f"large-{stamp}.gunicorn.log") as server:
        server.wait_ready(timeout=180)
        watch = CpuWatch(
            gunicorn_pid=server.proc.pid,
            database=urllib.parse.urlparse(database_url).path.lstrip("/"),
            redis_port=urllib.parse.urlparse(redis_url).port or 6379,
        )
        rows = measure(server.base_url, api_key, count, args.samples, watch=watch)
    print(report(rows, count, 0, args.samples))
    result = {
        "contacts": count,
        "samples": args.samples,
        "busy_before": busy,
        "reads": rows,
        "git": harness.git_revision(),
    }
    harness.RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (harness.RESULTS_DIR / f"large-{stamp}.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
