"""What PostgreSQL ran for a bench's requests, statement by statement, from pg_stat_statements
(when the server loads it: shared_preload_libraries): calls, execution time and buffers per
request of each statement of the bench database during the measured run.

    watch = StatementWatch(database_url)
    watch.start()        # the extension in the bench database, its counters reset (that database only)
    ...                  # the measured run
    rows = watch.report(requests)

Also `analyze(database_url)`: what autovacuum does in production, for a bench whose tables start
empty and grow under load (a server with autovacuum off, as a shared test machine may run, would
otherwise keep planning them as the empty tables they were when each connection prepared its
statements: psycopg prepares a statement run five times, and PostgreSQL keeps a prepared
statement's generic plan until the table's statistics change).
"""

from __future__ import annotations

from urllib.parse import urlparse, urlunparse

TOP = 15


def _connect(database_url: str):
    import psycopg

    url = urlunparse(urlparse(database_url)._replace(scheme="postgresql"))
    return psycopg.connect(url, autocommit=True, connect_timeout=5)


def track_planning(database_url: str) -> None:
    """Planning counted too (pg_stat_statements.track_planning), for the connections opened from
    now on: call before the server starts. Quietly nothing where the extension is not loaded."""
    import psycopg

    try:
        with _connect(database_url) as conn:
            name = conn.execute("SELECT current_database()").fetchone()[0]
            conn.execute(
                psycopg.sql.SQL("ALTER DATABASE {} SET pg_stat_statements.track_planning = on").format(
                    psycopg.sql.Identifier(name)
                )
            )
    except psycopg.Error:
        pass


def analyze(database_url: str) -> None:
    """ANALYZE every table of the bench database (seconds' worth of rows: quick)."""
    with _connect(database_url) as conn:
        conn.execute("ANALYZE")


class StatementWatch:
    def __init__(self, database_url: str):
        self.database_url = database_url
        self.available = False

    def start(self) -> None:
        import psycopg

        try:
            with _connect(self.database_url) as conn:
                conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
                conn.execute(
                    "SELECT pg_stat_statements_reset(0, "
                    "(SELECT oid FROM pg_database WHERE datname = current_database()), 0)"
                )
            self.available = True
        except psycopg.Error:
            self.available = False  # not loaded on this server: the bench goes on without

    def report(self, requests: int) -> dict | None:
        """{"per_request": statements per request, "rows": the TOP by execution time, each with
        calls, exec ms and shared buffers per request}; None when unavailable."""
        if not self.available or not requests:
            return None
        with _connect(self.database_url) as conn:
            rows = conn.execute(
                "SELECT calls, total_exec_time, shared_blks_hit + shared_blks_read + shared_blks_dirtied, query, "
                "plans, total_plan_time "
                "FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                "AND query NOT LIKE '%pg_stat_statements%' ORDER BY total_exec_time DESC"
            ).fetchall()
        # Foreign-key checks run inside the statements that cause them: not a round trip each.
        own = [row for row in rows if not row[3].startswith("SELECT $2 FROM ONLY ")]
        return {
            "per_request": round(sum(row[0] for row in own) / requests, 1),
            "exec_ms_per_request": round(sum(row[1] for row in rows) / requests, 3),
            # Statements planned (psycopg prepares one run 5 times on a connection; PostgreSQL
            # plans a prepared one 5 more times before keeping a generic plan).
            "plans_per_request": round(sum(row[4] for row in own) / requests, 1),
            "plan_ms_per_request": round(sum(row[5] for row in rows) / requests, 3),
            "rows": [
                {
                    "calls": round(calls / requests, 2),
                    "exec_ms": round(total / requests, 3),
                    "buffers": round(buffers / requests, 1),
                    "query": " ".join(query.split())[:200],
                }
                for calls, total, buffers, query, _, _ in rows[:TOP]
            ],
        }


def print_report(report: dict | None) -> None:
    if report is None:
        return
    print(
        f"PostgreSQL per request: {report['per_request']} statements (BEGIN and COMMIT included), "
        f"{report['exec_ms_per_request']} ms of execution; {report['plans_per_request']} planned, "
        f"{report['plan_ms_per_request']} ms of planning; the most expensive:"
    )
    print(f"{'calls':>7}{'exec ms':>9}{'buffers':>9}  statement")
    for row in report["rows"]:
        print(f"{row['calls']:>7}{row['exec_ms']:>9}{row['buffers']:>9}  {row['query'][:110]}")
