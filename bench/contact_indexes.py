"""PostgreSQL CPU of writing contacts under different index sets: each variant is a copy of
crm_contact's columns (no rows, no foreign keys) with the indexes the variant names, and the
same contacts are inserted one transaction each, then updated as an inbound message updates one
(message_count + 1, updated_at); CPU is the server backend's own (/proc/<pid>/stat), so other
work on a shared machine does not count. Variants run interleaved, `--rounds` times.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/lhb_x python bench/contact_indexes.py \\
        --rows 4000 --rounds 3 [--variant NAME ...]

The database must be migrated (the bench table copies crm_contact); the tables it makes
(bench_contact_*) are dropped at the end. Pending GIN entries are flushed at the end of each
insert batch and that flush counted (autovacuum would do it in production: work the server does
for these rows either way).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import uuid

import psycopg

TRGM = ("name", "first_name", "last_name", "email", "phone_number", "company_name")


def _trgm_each(table: str) -> list[str]:
    return [f"CREATE INDEX {table}_trgm_{c} ON {table} USING gin ((UPPER(({c})::text)) gin_trgm_ops)" for c in TRGM]


def _trgm_multi(table: str) -> list[str]:
    columns = ", ".join(f"(UPPER(({c})::text)) gin_trgm_ops" for c in TRGM)
    return [f"CREATE INDEX {table}_trgm ON {table} USING gin ({columns})"]


BTREES = {
    "created": "(workspace_id, created_at DESC, id DESC)",
    "email": "(workspace_id, email)",
    "session": "(workspace_id, session_id)",
    "status": "(workspace_id, status, created_at DESC)",
    "window": "(workspace_id, created_at) INCLUDE (message_count)",
    "owner": "(owner_id)",
    "disposition": "(disposition_status_id)",
    "line": "(line_id)",
}
PARTIAL = {
    "session": "(workspace_id, session_id) WHERE session_id IS NOT NULL",
    "owner": "(owner_id) WHERE owner_id IS NOT NULL",
    "disposition": "(disposition_status_id) WHERE disposition_status_id IS NOT NULL",
    "line": "(line_id) WHERE line_id IS NOT NULL",
}
UNIQUE = [
    "CREATE UNIQUE INDEX {t}_phone ON {t} (workspace_id, phone_number) WHERE phone_number IS NOT NULL",
    "CREATE UNIQUE INDEX {t}_email_np ON {t} (workspace_id, email) WHERE phone_number IS NULL AND email IS NOT NULL",
]


def variant_sql(name: str, table: str) -> list[str]:
    btrees = dict(BTREES)
    trgm = _trgm_each
    parts = set(name.split("+"))
    if "partial" in parts:
        btrees.update(PARTIAL)
    if "multigin" in parts:
        trgm = _trgm_multi
    if "nowindow" in parts:
        del btrees["window"]
    if "windownomc" in parts:
        btrees["window"] = "(workspace_id, created_at)"
    sql = [f"CREATE TABLE {table} (LIKE crm_contact INCLUDING DEFAULTS, PRIMARY KEY (id))"]
    for option in parts:
        if option.startswith("ff"):
            sql.append(f"ALTER TABLE {table} SET (fillfactor = {int(option[2:])})")
    sql += [template.format(t=table) for template in UNIQUE]
    sql += [f"CREATE INDEX {table}_{key} ON {table} {definition}" for key, definition in btrees.items()]
    if "notrgm" not in parts:
        sql += trgm(table)
    return sql


FIRST = ["Ada", "Grace", "Alan", "Linus", "Barbara", "Ken", "Margaret", "Dennis", "Frances", "Edsger"]
LAST = ["Lovelace", "Hopper", "Turing", "Torvalds", "Liskov", "Thompson", "Hamilton", "Ritchie", "Allen", "Dijkstra"]
COMPANY = ["Acme Dental", "Northwind", "Globex", "Initech", "Umbrella Clinic", "Hooli", "Vandelay Imports"]


def contacts(count: int, seed: int) -> list[tuple]:
    rng = random.Random(seed)
    workspace = uuid.UUID(int=seed)
    rows = []
    for n in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        tail = (seed * 1_000_003 + n * 7919) % 10**7  # unique within a batch
        rows.append(
            (
                uuid.uuid4(),
                workspace,
                f"+1650{tail:07d}",
                f"{first.lower()}.{last.lower()}{tail}@example.com",
                f"{first} {last}",
                first,
                last,
                f"{rng.choice(COMPANY)} {n % 97}",
            )
        )
    return rows


INSERT = (
    "INSERT INTO {t} (id, workspace_id, phone_number, email, name, first_name, last_name, company_name, "
    "other_phone_numbers, website, address, city, state, zipcode, country, timezone, lead_source, source, notes, "
    "csf1, csf2, custom_fields, message_count, status, first_touch, latest_touch, sms_opt_out, created_at, "
    "updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, '[]', '', '', '', '', '', '', '', '', 'web', '', '', '', "
    "'{{}}', 0, 'new', '{{}}', '{{}}', false, now(), now())"
)
SAMPLE = 200  # inserts EXPLAINed per batch, after the timed ones
UPDATE = "UPDATE {t} SET message_count = message_count + 1, updated_at = now() WHERE id = %s"


def cpu_ms(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def run(conn, table: str, rows: list[tuple], updates: int) -> tuple[float, float, int]:
    pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
    insert, update = INSERT.format(t=table), UPDATE.format(t=table)
    conn.execute(insert, rows[0], prepare=True)  # planned before the clock starts
    start = cpu_ms(pid)
    for row in rows[1:]:
        conn.execute(insert, row, prepare=True)
    for (index,) in conn.execute(
        "SELECT indexrelid::regclass::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "JOIN pg_am a ON a.oid = c.relam WHERE indrelid = %s::regclass AND amname = 'gin'",
        [table],
    ).fetchall():
        conn.execute("SELECT gin_clean_pending_list(%s::regclass)", [index])
    inserted = cpu_ms(pid) - start
    ids = [row[0] for row in rows[1:]]
    random.Random(1).shuffle(ids)
    start = cpu_ms(pid)
    for contact_id in ids[:updates]:
        conn.execute(update, [contact_id], prepare=True)
    updated = cpu_ms(pid) - start
    conn.execute("SELECT pg_stat_force_next_flush()")
    conn.execute("SELECT pg_stat_clear_snapshot()")
    # What each insertion writes (deterministic, unlike CPU): WAL records and bytes, buffers.
    wal = [0, 0, 0]
    for row in contacts(SAMPLE, 10**6 + len(rows)):
        (plan,) = conn.execute("EXPLAIN (ANALYZE, BUFFERS, WAL, FORMAT JSON) " + insert, row).fetchone()[0]
        top = plan["Plan"]
        wal[0] += top.get("WAL Records", 0)
        wal[1] += top.get("WAL Bytes", 0)
        wal[2] += top.get("Shared Hit Blocks", 0) + top.get("Shared Read Blocks", 0)
    print(
        f"    {table}: per insert {wal[0] / SAMPLE:.1f} WAL records, {wal[1] / SAMPLE:.0f} WAL bytes, "
        f"{wal[2] / SAMPLE:.1f} buffers",
        flush=True,
    )
    hot = conn.execute("SELECT n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = %s", [table]).fetchone()[0]
    return inserted / (len(rows) - 1), updated / max(1, min(updates, len(ids))), hot


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=4000)
    parser.add_argument("--updates", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--variant", action="append", help="base, partial, multigin, nowindow, ff90, joined by +")
    args = parser.parse_args()
    variants = args.variant or ["base", "partial+multigin"]
    url = os.environ["BENCH_DATABASE_URL"].replace("postgres://", "postgresql://", 1)
    results: dict[str, list[tuple[float, float]]] = {v: [] for v in variants}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for round_ in range(args.rounds):
            for number, variant in enumerate(variants):
                table = f"bench_contact_{number}"
                conn.execute(f"DROP TABLE IF EXISTS {table}")
                for statement in variant_sql(variant, table):
                    conn.execute(statement)
                inserted, updated, hot = run(conn, table, contacts(args.rows, round_ + 1), args.updates)
                results[variant].append((inserted, updated))
                print(
                    f"round {round_ + 1} {variant:28} insert {inserted:.3f} ms  update {updated:.3f} ms  "
                    f"(hot updates {hot})",
                    flush=True,
                )
                conn.execute(f"DROP TABLE {table}")
    print("\nmedian PostgreSQL backend CPU per statement")
    for variant, figures in results.items():
        print(
            f"{variant:28} insert {statistics.median(f[0] for f in figures):.3f} ms"
            f"  update {statistics.median(f[1] for f in figures):.3f} ms"
        )


if __name__ == "__main__":
    main()
