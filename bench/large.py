"""The 1,000,000-contact part of `make bench`: seed one workspace in bulk, then time the reads
a dashboard and a partner make most, one request at a time, and report p50/p95.

Targets (issue 8): first contacts page ≤ 30 ms, exact lookup by e-mail and by phone ≤ 10 ms,
stats ≤ 50 ms (p95).
"""

from __future__ import annotations

import statistics
import time
import urllib.parse
import urllib.request

import psycopg

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


def measure(base_url: str, api_key: str, count: int) -> list[dict]:
    """p50/p95 of each read over SAMPLES sequential requests (after WARMUP)."""
    headers = {"Authorization": f"Bearer {api_key}"}
    reads = {"first page": "/api/v1/contacts", **lookups(count), "stats": "/api/v1/stats"}
    rows = []
    for name, path in reads.items():
        for _ in range(WARMUP):
            _timed_get(base_url, path, headers)
        times = sorted(_timed_get(base_url, path, headers) for _ in range(SAMPLES))
        p95 = times[int(len(times) * 0.95) - 1]
        rows.append(
            {
                "read": name,
                "path": path,
                "p50_ms": round(statistics.median(times), 2),
                "p95_ms": round(p95, 2),
                "target_p95_ms": TARGETS_MS[name],
                "pass": p95 <= TARGETS_MS[name],
            }
        )
    return rows


def report(rows: list[dict], count: int, seconds: float) -> str:
    lines = [f"{count:,} contacts in one workspace (seeded in {seconds:.0f} s); {SAMPLES} sequential requests each:"]
    for row in rows:
        verdict = "PASS" if row["pass"] else "FAIL"
        lines.append(
            f"  {row['read']:<17} p50 {row['p50_ms']:7.2f} ms  p95 {row['p95_ms']:7.2f} ms"
            f"  (target ≤ {row['target_p95_ms']:g} ms): {verdict}"
        )
    return "\n".join(lines)
