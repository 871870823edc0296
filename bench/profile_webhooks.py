"""Where the engine's drain spends its time, in-process, against PostgreSQL and bench/webhooks.py's
receiver.

    .venv/bin/python bench/profile_webhooks.py [--events 3000] [--endpoints 1] [--loops 1]
        [--cprofile] [--explain]

It recreates BENCH_WEBHOOKS_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/
leadhub_bench_webhooks_profile), migrates, queues `--events` events to `--endpoints` endpoints
of one workspace with no engine running, then drains them with `--loops` engine loops
(webhooks.engine.deliveries_run, each in a thread of this process with its own connection: what
that many Celery worker processes do, minus the GIL's sharing) and prints:

- deliveries/s from the first receipt to the last (as bench/webhooks.py counts them);
- the claims and the outcome flushes: how many, deliveries per call, wall ms per call, the
  share of the drain's wall time each took (timed around the engine's own functions);
- how long a delivery is held: claim → receipt → outcome written (the lease time, which with
  the per-endpoint cap bounds one endpoint's rate: cap / lease time);
- with --cprofile, the functions that cost most (the first loop's thread);
- with --explain, EXPLAIN ANALYZE of the claim's statements with a backlog in place.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.util
import io
import os
import pstats
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
# bench/webhooks.py (receiver, database reset, emitting), under a name that is not the app's.
_spec = importlib.util.spec_from_file_location("bench_webhooks", REPO / "bench" / "webhooks.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/leadhub_bench_webhooks_profile"


class Timer:
    """Wraps a function of a module: calls, items handled and wall time per call."""

    def __init__(self, module, name: str, count) -> None:
        self.module, self.name, self.count = module, name, count
        self.original = getattr(module, name)
        self.calls: list[tuple[float, int]] = []
        self.lock = threading.Lock()

        def timed(*args, **kwargs):
            started = time.perf_counter()
            value = self.original(*args, **kwargs)
            with self.lock:
                self.calls.append((time.perf_counter() - started, self.count(value)))
            return value

        setattr(module, name, timed)

    def report(self, wall: float) -> str:
        if not self.calls:
            return f"{self.name}: not called"
        times = [seconds * 1000 for seconds, _ in self.calls]
        items = [n for _, n in self.calls]
        return (
            f"{self.name}: {len(self.calls)} calls, {statistics.fmean(items):.1f} per call, "
            f"p50 {statistics.median(times):.2f} ms, mean {statistics.fmean(times):.2f} ms, "
            f"{sum(times) / 10 / wall:.0f} % of the wall time"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--endpoints", type=int, default=1)
    parser.add_argument("--loops", type=int, default=1)
    parser.add_argument("--cprofile", action="store_true")
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--keep-database", action="store_true", help="reuse the last run's database (migrated)")
    parser.add_argument("--switch-interval", type=float, help="sys.setswitchinterval (seconds) for this run")
    args = parser.parse_args()
    if args.switch_interval:
        sys.setswitchinterval(args.switch_interval)

    database_url = os.environ.get("BENCH_WEBHOOKS_DATABASE_URL", DEFAULT_DATABASE_URL)
    env = {
        "DATABASE_URL": database_url,
        "REDIS_URL": "",
        "CELERY_BROKER_URL": "memory://",  # the dispatch messages of the emits go nowhere
        "DJANGO_SETTINGS_MODULE": "leadhub.settings",
        "WEBHOOK_ALLOW_HTTP": "true",
        "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
        "LOG_LEVEL": "WARNING",
        "DEBUG": "false",
        "SECRET_KEY": "bench-" + os.urandom(16).hex(),
    }
    if not args.keep_database:
        bench.reset_database(database_url)
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=REPO,
            env=os.environ | env,
            check=True,
        )
        for role in (bench.APP_ROLE, bench.OPERATOR_ROLE):
            subprocess.run([sys.executable, "manage.py", "approle", role], cwd=REPO, env=os.environ | env, check=True)
    env["DATABASE_ROLE"] = bench.APP_ROLE  # under row-level security, as in production
    env["DATABASE_OPERATOR_ROLE"] = bench.OPERATOR_ROLE  # the seeding, as worker and beat
    env["RLS_ALLOW_PRIVILEGED_LOGIN"] = "true"  # the login (postgres) created the database
    os.environ.update(env)
    import django

    django.setup()
    from leadhub.tenancy import enter_operator

    enter_operator("bench")
    from django.db import connection

    from accounts.services import workspace_create
    from webhooks.engine import claim, run
    from webhooks.models import Delivery, Event

    Event.objects.all().delete()
    workspace = workspace_create(name=f"Bench {time.time_ns()}", plan_code="enterprise")
    receiver = bench.Receiver()
    try:
        bench.setup_endpoints(workspace, receiver, args.endpoints)
        emitted = time.perf_counter()
        bench.emit_batched(workspace, args.events)
        print(f"emitted {args.events} events in {time.perf_counter() - emitted:.1f} s")
        expected = args.events * args.endpoints
        if args.explain:
            explain(connection, claim)
        claims = Timer(run, "deliveries_claim", len)
        writes = Timer(run, "attempts_record", len)
        # The flush (outcomes written, freed slots leased, one commit), where the loop has one.
        flushes = Timer(run, "_flush", lambda value: len(value[0])) if hasattr(run, "_flush") else None
        loads = Timer(run, "leased_load", len) if hasattr(run, "leased_load") else None
        profile = cProfile.Profile() if args.cprofile else None

        def loop(first: bool) -> None:
            try:
                if first and profile:
                    profile.enable()
                while Delivery.objects.filter(status=Delivery.Status.PENDING).exists():
                    run.deliveries_run(max_seconds=60)
                if first and profile:
                    profile.disable()
            finally:
                connection.close()

        started = time.perf_counter()
        threads = [threading.Thread(target=loop, args=(n == 0,)) for n in range(args.loops)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
        records = receiver.ask("dump")
        rate, span = bench.drain_rate(records)
        print(f"{len(records)}/{expected} received; {rate}/s first to last ({span} s); wall {wall:.2f} s")
        for timer in (claims, writes, flushes, loads):
            if timer is not None:
                print(timer.report(wall))
        from django.db.models import Count

        from webhooks.models import Attempt

        statuses = dict(Delivery.objects.values_list("status").annotate(n=Count("pk")))
        print(f"deliveries by status: {statuses}; attempts recorded: {Attempt.objects.count()}")
        held = list(
            Delivery.objects.filter(attempts__isnull=False).values_list("attempts__duration_ms", flat=True)[:expected]
        )
        if held:
            print(f"attempt duration (connect → answer) p50 {statistics.median(held)} ms, max {max(held)} ms")
        if profile:
            out = io.StringIO()
            pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(45)
            print(out.getvalue())
    finally:
        receiver.stop()
        run.http.client_reset()
    return 0


def explain(connection, claim) -> None:
    """EXPLAIN ANALYZE of the claim's statements, captured while one claim runs."""
    from django.db.backends.utils import CursorWrapper

    original = CursorWrapper.execute
    statements: list[tuple[str, object]] = []

    def capture(self, sql, params=None):
        statements.append((sql, params))
        return original(self, sql, params)

    CursorWrapper.execute = capture
    try:
        claimed = claim.deliveries_claim(limit=10)
    finally:
        CursorWrapper.execute = original
    with connection.cursor() as cursor:
        for sql, params in statements:
            if not sql.lstrip().upper().startswith(("SELECT", "WITH", "UPDATE")):
                continue
            cursor.execute("BEGIN")
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            cursor.execute("ROLLBACK")
            print(sql.strip().splitlines()[0][:100], "...\n", plan, "\n", sep="")
    # The claim above holds its deliveries until the lease ends: hand them back.
    from webhooks.models import Delivery

    Delivery.objects.filter(pk__in=[d.pk for d in claimed]).update(lease_token=None, lease_expires_at=None)


if __name__ == "__main__":
    sys.exit(main())
