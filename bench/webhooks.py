"""Webhook delivery benchmark: drain rates beside a real peer, latency, fairness, and chaos.

    .venv/bin/python bench/webhooks.py [--events 10000] [--endpoints 1 10] [--peer-events 2000]
        [--rate 200] [--flood 20000] [--concurrency 2] [--only drain|peer|latency|flood|chaos]

Each run starts from nothing: it drops and recreates the PostgreSQL database
BENCH_WEBHOOKS_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/leadhub_bench_webhooks),
starts a private redis-server on a free port (the broker; restarted in the chaos run), migrates,
creates a workspace, and runs Celery workers (prefork, production's settings) and beat. The
receiver is an asyncio HTTP/1.1 server on 127.0.0.1 in its own process that records every
webhook-id with its arrival time.

- drain: N events to 1 and to 10 endpoints queued with no worker running; then the worker and
  beat start; deliveries/s from the first receipt to the last (target: 1,000/s).
- peer: django-webhook (PyPI), installed into a throwaway project generated in the run's
  temporary folder (its own database, the same Redis and receiver, the same worker
  concurrency), drains its own backlog the same way (target: LeadHub at least 5 × its rate).
  It makes one Celery task per delivery, so its backlog is smaller (--peer-events); a drain
  rate does not depend on the backlog's size.
- latency: events emitted at --rate per second, one per transaction; p50/p95/p99 of receipt
  time minus commit time (target: p95 at most 100 ms).
- flood: one workspace emits --flood events (100 per transaction) to --flood-endpoints
  endpoints while another emits --quiet-rate per second: the second's commit → receipt
  (target: p95 at most 500 ms).
- chaos: 2,000 events, the receiver failing 30 % of requests at random, a worker killed
  (SIGKILL) and restarted twice, Redis restarted once; every event id must arrive; duplicates
  are counted. The workers run with WEBHOOK_RETRY_SCALE=0.01 (the schedule 100 times faster).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from harness import APP_ROLE, OPERATOR_ROLE, REPO, RESULTS_DIR, reset_database
from webhooks_chaos import run_chaos
from webhooks_peer import run_peer
from webhooks_services import Celery, Receiver, Redis, drain_rate, percentile, setup_endpoints, wait_for

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/leadhub_bench_webhooks"


# --- Measurements ----------------------------------------------------------------------------


def emit_batched(workspace, count: int, batch: int = 100) -> tuple[float, float]:
    from django.db import transaction

    from webhooks.services import event_emit

    started = time.time()
    for start in range(0, count, batch):
        with transaction.atomic():
            for n in range(start, min(count, start + batch)):
                event_emit(workspace=workspace, type="lead.created", data={"n": n, "name": "Bench Lead"})
    return started, time.time()


def run_drain(workspace, receiver: Receiver, env, logs: Path, *, events: int, endpoints: int, concurrency: int) -> dict:
    """`events` events to `endpoints` endpoints queued with no worker running; then the
    worker (and beat) start and drain them."""
    setup_endpoints(workspace, receiver, endpoints)
    receiver.ask("clear")
    expected = events * endpoints
    emit_batched(workspace, events)
    worker = Celery("worker", env, logs / f"drain-{endpoints}-worker.log", concurrency)
    beat = Celery("beat", env, logs / f"drain-{endpoints}-beat.log")
    started = time.time()
    worker.start()
    beat.start()
    try:
        complete = wait_for(receiver, expected, timeout=max(120, expected / 50))
    finally:
        beat.stop()
        worker.stop()
    records = receiver.ask("dump")
    rate, span = drain_rate(records)
    return {
        "scenario": f"drain-{endpoints}",
        "engine": "leadhub",
        "events": events,
        "endpoints": endpoints,
        "deliveries_expected": expected,
        "deliveries_received": len(records),
        "distinct_event_ids": len({webhook_id for webhook_id, _, _ in records}),
        "complete": complete,
        "seconds_first_to_last": span,
        "seconds_from_worker_start": round(max(at for _, at, _ in records) - started, 2) if records else None,
        "deliveries_per_second": rate,
        "worker_concurrency": concurrency,
    }


def run_latency(workspace, receiver: Receiver, *, rate: float, seconds: float) -> dict:
    setup_endpoints(workspace, receiver, 1)
    receiver.ask("clear")
    committed = emit_steady(workspace, rate=rate, seconds=seconds)
    actual = committed.pop("_rate")
    complete = wait_for(receiver, len(committed), timeout=60)
    latencies = [(at - committed[wid]) * 1000 for wid, at, _ in receiver.ask("dump") if wid in committed]
    return {
        "scenario": "latency",
        "target_rate": rate,
        "actual_rate": round(actual, 1),
        "complete": complete,
        **summary(latencies, len(committed)),
    }


def emit_steady(workspace, *, rate: float, seconds: float) -> dict[str, float]:
    """One event per transaction at `rate` per second; {event id: commit time}."""
    from django.db import transaction

    from webhooks.services import event_emit

    committed: dict[str, float] = {}
    total = int(rate * seconds)
    start = time.monotonic()
    for n in range(total):
        pause = start + n / rate - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        with transaction.atomic():
            event = event_emit(workspace=workspace, type="lead.created", data={"n": n})
        committed[str(event.id)] = time.time()  # after COMMIT, when on_commit has enqueued dispatch
    committed["_rate"] = total / (time.monotonic() - start)
    return committed


def summary(latencies: list[float], sent: int) -> dict:
    return {
        "events": sent,
        "received": len(latencies),
        "p50_ms": round(percentile(latencies, 0.50), 1) if latencies else None,
        "p95_ms": round(percentile(latencies, 0.95), 1) if latencies else None,
        "p99_ms": round(percentile(latencies, 0.99), 1) if latencies else None,
        "max_ms": round(max(latencies), 1) if latencies else None,
        "mean_ms": round(statistics.fmean(latencies), 1) if latencies else None,
    }


def run_flood(workspace, receiver: Receiver, *, flood: int, flood_endpoints: int, rate: float) -> dict:
    """Workspace A emits `flood` events (100 per transaction, to `flood_endpoints` endpoints)
    while workspace B emits `rate` per second, one per transaction: B's commit → receipt."""
    import django.db

    from accounts.models import Plan
    from accounts.services import workspace_create
    from webhooks.models import Endpoint
    from webhooks.services import endpoint_create

    Endpoint.objects.all().delete()
    Plan.objects.filter(code="enterprise").update(max_webhook_endpoints=max(50, flood_endpoints))
    other = workspace_create(name=f"Quiet {time.time_ns()}", plan_code="enterprise")
    for n in range(flood_endpoints):
        endpoint_create(workspace=workspace, url=f"http://127.0.0.1:{receiver.port.value}/flood{n}")
    endpoint_create(workspace=other, url=f"http://127.0.0.1:{receiver.port.value}/quiet")
    receiver.ask("clear")
    done = threading.Event()

    def flooding() -> None:
        try:
            emit_batched(workspace, flood)
        finally:
            django.db.connection.close()
            done.set()

    flooder = threading.Thread(target=flooding)
    started = time.monotonic()
    flooder.start()
    time.sleep(1.0)  # the flood is under way
    seconds = 0.0
    committed: dict[str, float] = {}
    while not done.is_set() or seconds < 10:
        batch = emit_steady(other, rate=rate, seconds=2.0)
        batch.pop("_rate")
        committed |= batch
        seconds += 2.0
    flood_emitted = time.monotonic() - started
    complete = wait_for(receiver, flood * flood_endpoints + len(committed), timeout=600)
    records = receiver.ask("dump")
    latencies = [(at - committed[wid]) * 1000 for wid, at, _ in records if wid in committed]
    flood_records = [record for record in records if record[0] not in committed]
    rate_a, span_a = drain_rate(flood_records)
    return {
        "scenario": "flood",
        "flood_events": flood,
        "flood_endpoints": flood_endpoints,
        "flood_emit_seconds": round(flood_emitted, 1),
        "flood_deliveries_per_second": rate_a,
        "flood_seconds": span_a,
        "quiet_rate": rate,
        "complete": complete,
        **summary(latencies, len(committed)),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--endpoints", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--peer-events", type=int, default=2_000, help="django-webhook's backlog (it is slow)")
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--latency-seconds", type=float, default=20.0)
    parser.add_argument("--flood", type=int, default=20_000)
    parser.add_argument("--flood-endpoints", type=int, default=10)
    parser.add_argument("--quiet-rate", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes (compose: one per core)")
    parser.add_argument("--chaos-events", type=int, default=2000)
    parser.add_argument("--chaos-timeout", type=float, default=3600.0)
    parser.add_argument("--only", action="append", choices=["drain", "peer", "latency", "flood", "chaos"])
    args = parser.parse_args()
    only = set(args.only or ["drain", "peer", "latency", "flood", "chaos"])

    database_url = os.environ.get("BENCH_WEBHOOKS_DATABASE_URL", DEFAULT_DATABASE_URL)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    logs = Path(tempfile.mkdtemp(prefix="leadhub-bench-webhooks-"))
    redis = Redis(logs)
    redis.start()
    env = os.environ | {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis.url,
        "DJANGO_SETTINGS_MODULE": "leadhub.settings",
        "WEBHOOK_ALLOW_HTTP": "true",
        "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
        "LOG_LEVEL": "WARNING",
        "DEBUG": "false",
        "SECRET_KEY": "bench-" + os.urandom(16).hex(),
    }
    reset_database(database_url)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=REPO, env=env, check=True)
    for role in (APP_ROLE, OPERATOR_ROLE):
        subprocess.run([sys.executable, "manage.py", "approle", role], cwd=REPO, env=env, check=True)
    env["DATABASE_ROLE"] = APP_ROLE  # workers serve under row-level security, as in production
    env["DATABASE_OPERATOR_ROLE"] = OPERATOR_ROLE  # the engine's claim (webhook_engine), as the worker
    env["RLS_ALLOW_PRIVILEGED_LOGIN"] = "true"  # the login (postgres) created the database
    os.environ.update(env)
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from leadhub.tenancy import enter_operator

    enter_operator("bench")
    from accounts.services import workspace_create

    workspace = workspace_create(name="Bench", plan_code="enterprise")
    results = []

    def report(row: dict) -> None:
        results.append(row)
        print(json.dumps(row), flush=True)

    receiver = Receiver()
    try:
        if "drain" in only:
            for endpoints in args.endpoints:
                report(
                    run_drain(
                        workspace,
                        receiver,
                        env,
                        logs,
                        events=args.events,
                        endpoints=endpoints,
                        concurrency=args.concurrency,
                    )
                )
        if "peer" in only:
            for endpoints in args.endpoints:
                events = max(1, args.peer_events // endpoints)
                report(
                    run_peer(
                        receiver,
                        redis,
                        logs,
                        database_url=database_url + "_peer",
                        events=events,
                        endpoints=endpoints,
                        concurrency=args.concurrency,
                    )
                )
        if only & {"latency", "flood"}:
            worker = Celery("worker", env, logs / "worker.log", args.concurrency)
            beat = Celery("beat", env, logs / "beat.log")
            worker.start()
            beat.start()
            try:
                setup_endpoints(workspace, receiver, 1)
                emit_batched(workspace, 20)  # warm up: the worker is ready when these arrive
                if not wait_for(receiver, 20, timeout=60):
                    raise RuntimeError(f"the worker delivered nothing; see {logs / 'worker.log'}")
                if "latency" in only:
                    report(run_latency(workspace, receiver, rate=args.rate, seconds=args.latency_seconds))
                if "flood" in only:
                    report(
                        run_flood(
                            workspace,
                            receiver,
                            flood=args.flood,
                            flood_endpoints=args.flood_endpoints,
                            rate=args.quiet_rate,
                        )
                    )
            finally:
                beat.stop()
                worker.stop()
        receiver.stop()
        if "chaos" in only:
            report(
                run_chaos(
                    workspace,
                    env,
                    logs,
                    redis,
                    events=args.chaos_events,
                    concurrency=args.concurrency,
                    timeout=args.chaos_timeout,
                )
            )
    finally:
        receiver.stop()
        redis.stop()
    verdicts = verdicts_of(results)
    print("\n".join(verdicts))
    out = RESULTS_DIR / f"{stamp}.webhooks.json"
    out.write_text(
        json.dumps({"results": results, "verdicts": verdicts, "cpus": os.cpu_count(), "args": vars(args)}, indent=2)
    )
    print(f"results: {out}; logs: {logs}")
    return 0


def verdicts_of(results: list[dict]) -> list[str]:
    verdicts = []
    peers = {row["endpoints"]: row for row in results if row.get("engine", "").startswith("django-webhook")}
    for row in results:
        if row["scenario"].startswith("drain") and row.get("engine") == "leadhub":
            rate = row["deliveries_per_second"] or 0
            line = f"{row['scenario']}: {rate}/s ≥ 1000/s: {'PASS' if rate >= 1000 and row['complete'] else 'FAIL'}"
            peer = peers.get(row["endpoints"])
            if peer and peer["deliveries_per_second"]:
                ratio = rate / peer["deliveries_per_second"]
                line += f"; django-webhook {peer['deliveries_per_second']}/s, ×{ratio:.1f} ≥ 5: "
                line += "PASS" if ratio >= 5 else "FAIL"
            verdicts.append(line)
        elif row["scenario"] == "latency":
            passed = row["p95_ms"] is not None and row["p95_ms"] <= 100 and row["complete"]
            verdicts.append(
                f"latency at {row['target_rate']}/s: p95 {row['p95_ms']} ms ≤ 100 ms: {'PASS' if passed else 'FAIL'}"
            )
        elif row["scenario"] == "flood":
            passed = row["p95_ms"] is not None and row["p95_ms"] <= 500 and row["complete"]
            verdicts.append(
                f"flood of {row['flood_events']}: the other workspace's p95 {row['p95_ms']} ms ≤ 500 ms: "
                f"{'PASS' if passed else 'FAIL'}"
            )
        elif row["scenario"] == "chaos":
            verdicts.append(
                f"chaos: {row['missing_event_ids']} missing, {row['duplicate_2xx']} duplicates: "
                f"{'PASS' if row['complete'] else 'FAIL'}"
            )
    return verdicts


if __name__ == "__main__":
    sys.exit(main())
