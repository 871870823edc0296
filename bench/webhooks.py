"""Webhook delivery benchmark: throughput, commit-to-receipt latency, and a chaos run.

    .venv/bin/python bench/webhooks.py [--events 10000] [--endpoints 1 10] [--rate 200]
        [--latency-seconds 20] [--concurrency 8] [--chaos] [--only throughput|latency|chaos]

Each run starts from nothing: it drops and recreates the PostgreSQL database
BENCH_WEBHOOKS_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/leadhub_bench_webhooks),
starts a private redis-server on a free port (the broker; restarted in the chaos run), migrates,
creates a workspace, and runs Celery workers (prefork, production's settings) and, for the
chaos run, beat. The receiver is an asyncio HTTP/1.1 server on 127.0.0.1 in its own process
that records every webhook-id with its arrival time. Events are emitted here with
webhooks.services.event_emit, each in its own transaction unless stated.

- throughput: N events to 1 and to 10 endpoints; deliveries/s from the first commit to the
  last receipt (target: at least 1,000/s).
- latency: events emitted at --rate per second, one per transaction; p50/p95/p99 of receipt
  time minus commit time (target: p95 at most 100 ms).
- chaos: 2,000 events, the receiver failing 30 % of requests at random, a worker killed
  (SIGKILL) and restarted twice, Redis restarted once; every event id must arrive; duplicates
  are counted. The workers run with WEBHOOK_RETRY_SCALE=0.01 (the schedule 100 times faster).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse, urlunparse

REPO = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO / "bench" / "results"
BIN = Path(sys.executable).parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/leadhub_bench_webhooks"


# --- The receiver (its own process) ----------------------------------------------------------


def _receiver_main(port_out, conn, fail_rate: float) -> None:
    records: list[tuple[str, float, int]] = []
    lock = threading.Lock()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length, webhook_id = 0, ""
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    name = name.strip().lower()
                    if name == b"content-length":
                        length = int(value)
                    elif name == b"webhook-id":
                        webhook_id = value.strip().decode()
                await reader.readexactly(length)
                status = 500 if fail_rate and random.random() < fail_rate else 200
                with lock:
                    records.append((webhook_id, time.time(), status))
                reason = b"OK" if status == 200 else b"Internal Server Error"
                writer.write(b"HTTP/1.1 %d %s\r\nContent-Length: 2\r\n\r\nok" % (status, reason))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
        port_out.value = server.sockets[0].getsockname()[1]
        async with server:
            await server.serve_forever()

    def commands() -> None:
        while True:
            command = conn.recv()
            with lock:
                if command == "dump":
                    conn.send(list(records))
                elif command == "count":
                    conn.send(len(records))
                elif command == "clear":
                    records.clear()
                    conn.send(True)

    threading.Thread(target=commands, daemon=True).start()
    asyncio.run(main())


class Receiver:
    def __init__(self, fail_rate: float = 0.0) -> None:
        self.port = multiprocessing.Value("i", 0)
        self.conn, child = multiprocessing.Pipe()
        self.process = multiprocessing.Process(target=_receiver_main, args=(self.port, child, fail_rate), daemon=True)
        self.process.start()
        deadline = time.monotonic() + 10
        while not self.port.value:
            if time.monotonic() > deadline:
                raise RuntimeError("the receiver did not start")
            time.sleep(0.01)

    def ask(self, command: str):
        self.conn.send(command)
        return self.conn.recv()

    def stop(self) -> None:
        self.process.terminate()
        self.process.join(5)


# --- Services: PostgreSQL database, a private Redis, Celery processes -------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def reset_database(url: str) -> None:
    import psycopg

    parts = urlparse(url)
    name = parts.path.lstrip("/")
    admin = urlunparse(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


class Redis:
    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server"),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


class Celery:
    """A worker (or beat) process of `celery -A leadhub`, with its own log file."""

    def __init__(
        self, kind: str, env: dict[str, str], log: Path, concurrency: int = 8, loglevel: str = "WARNING"
    ) -> None:
        self.kind, self.env, self.log, self.concurrency, self.loglevel = kind, env, log, concurrency, loglevel
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        if self.kind == "worker":
            args = [
                "worker",
                "--concurrency",
                str(self.concurrency),
                "--loglevel",
                "WARNING",
                "--without-gossip",
                "--without-mingle",
                "-n",
                f"bench-{os.getpid()}-{time.monotonic_ns()}@%h",
            ]
        else:
            args = ["beat", "--loglevel", "WARNING", "--schedule", str(self.log.with_suffix(".schedule"))]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [str(BIN / "celery"), "-A", "leadhub", *args],
                cwd=REPO,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self) -> None:
        """SIGKILL the whole process group: the main process and its pool children, mid-task."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


# --- Measurements ----------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def wait_for(receiver: Receiver, count: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while receiver.ask("count") < count:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def setup_endpoints(workspace, receiver: Receiver, count: int) -> None:
    from webhooks.models import Endpoint
    from webhooks.services import endpoint_create

    Endpoint.objects.all().delete()
    for n in range(count):
        endpoint_create(workspace=workspace, url=f"http://127.0.0.1:{receiver.port.value}/e{n}")


def emit_batched(workspace, count: int, batch: int = 100) -> tuple[float, float]:
    from django.db import transaction

    from webhooks.services import event_emit

    started = time.time()
    for start in range(0, count, batch):
        with transaction.atomic():
            for n in range(start, min(count, start + batch)):
                event_emit(workspace=workspace, type="lead.created", data={"n": n, "name": "Bench Lead"})
    return started, time.time()


def run_throughput(workspace, receiver: Receiver, *, events: int, endpoints: int) -> dict:
    setup_endpoints(workspace, receiver, endpoints)
    receiver.ask("clear")
    expected = events * endpoints
    first_commit, emitted = emit_batched(workspace, events)
    complete = wait_for(receiver, expected, timeout=max(120, expected / 100))
    records = receiver.ask("dump")
    last = max(at for _, at, _ in records) if records else time.time()
    ids = [webhook_id for webhook_id, _, _ in records]
    elapsed = last - first_commit
    return {
        "scenario": f"throughput-{endpoints}",
        "events": events,
        "endpoints": endpoints,
        "deliveries_expected": expected,
        "deliveries_received": len(records),
        "distinct_event_ids": len(set(ids)),
        "complete": complete,
        "emit_seconds": round(emitted - first_commit, 2),
        "seconds": round(elapsed, 2),
        "deliveries_per_second": round(len(records) / elapsed, 1) if elapsed > 0 else None,
    }


def run_latency(workspace, receiver: Receiver, *, rate: float, seconds: float) -> dict:
    from django.db import transaction

    from webhooks.services import event_emit

    setup_endpoints(workspace, receiver, 1)
    receiver.ask("clear")
    committed: dict[str, float] = {}
    total = int(rate * seconds)
    start = time.monotonic()
    for n in range(total):
        due = start + n / rate
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        with transaction.atomic():
            event = event_emit(workspace=workspace, type="lead.created", data={"n": n})
        committed[str(event.id)] = time.time()  # after COMMIT, when on_commit has enqueued dispatch
    actual_rate = total / (time.monotonic() - start)
    complete = wait_for(receiver, total, timeout=60)
    latencies = [(at - committed[wid]) * 1000 for wid, at, _ in receiver.ask("dump") if wid in committed]
    return {
        "scenario": "latency",
        "events": total,
        "target_rate": rate,
        "actual_rate": round(actual_rate, 1),
        "received": len(latencies),
        "complete": complete,
        "p50_ms": round(percentile(latencies, 0.50), 1) if latencies else None,
        "p95_ms": round(percentile(latencies, 0.95), 1) if latencies else None,
        "p99_ms": round(percentile(latencies, 0.99), 1) if latencies else None,
        "max_ms": round(max(latencies), 1) if latencies else None,
        "mean_ms": round(statistics.fmean(latencies), 1) if latencies else None,
    }


CHAOS_RETRY_SCALE = "0.01"  # 30 s → 0.3 s ... 24 h → 14 min: the same schedule, 100 times faster


def run_chaos(workspace, env, logs: Path, redis: Redis, *, events: int, concurrency: int, timeout: float) -> dict:
    from webhooks.models import Delivery

    receiver = Receiver(fail_rate=0.3)
    env = env | {"WEBHOOK_RETRY_SCALE": CHAOS_RETRY_SCALE}
    started = time.monotonic()
    try:
        setup_endpoints(workspace, receiver, 1)
        worker = Celery("worker", env, logs / "chaos-worker.log", concurrency)
        beat = Celery("beat", env, logs / "chaos-beat.log")
        worker.start()
        beat.start()
        emitted_ids: list[str] = []
        from django.db import transaction

        from webhooks.services import event_emit

        def emit(count: int) -> None:
            for _ in range(count):
                try:
                    with transaction.atomic():
                        emitted_ids.append(str(event_emit(workspace=workspace, type="lead.created", data={}).id))
                except Exception as exc:
                    print("emit failed:", exc, file=sys.stderr)
                time.sleep(0.002)

        # Each publish waits for the broker while it is down, so few events go out then.
        down = min(50, events // 10)
        chunk = (events - down) // 3
        emit(chunk)
        worker.kill()  # 1st: mid-delivery
        time.sleep(1)
        worker.start()
        emit(chunk)
        redis.stop()  # Redis restarted: queued dispatch messages are lost
        emit(down)  # committed while the broker is down: enqueue fails, the sweep finds them
        redis.start()
        worker.kill()  # 2nd
        time.sleep(1)
        worker.start()
        emit(events - 2 * chunk - down)

        deadline = time.monotonic() + timeout
        wanted = set(emitted_ids)
        while time.monotonic() < deadline:
            received = {wid for wid, _, status in receiver.ask("dump") if status == 200}
            if wanted <= received:
                break
            time.sleep(2)
        records = receiver.ask("dump")
        ok = [wid for wid, _, status in records if status == 200]
        missing = wanted - set(ok)
        beat.stop()
        worker.stop()
        return {
            "scenario": "chaos",
            "events": len(emitted_ids),
            "requests": len(records),
            "failed_requests": sum(1 for _, _, status in records if status != 200),
            "delivered_event_ids": len(set(ok) & wanted),
            "missing_event_ids": len(missing),
            "duplicate_2xx": len(ok) - len(set(ok)),
            "deliveries_failed_in_db": Delivery.objects.filter(status=Delivery.Status.FAILED).count(),
            "retry_scale": float(CHAOS_RETRY_SCALE),
            "seconds": round(time.monotonic() - started, 1),
            "complete": not missing,
        }
    finally:
        receiver.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--endpoints", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--latency-seconds", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--chaos-events", type=int, default=2000)
    parser.add_argument("--chaos-timeout", type=float, default=3600.0)
    parser.add_argument("--only", action="append", choices=["throughput", "latency", "chaos"])
    args = parser.parse_args()
    only = set(args.only or ["throughput", "latency"])

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
    os.environ.update(env)
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from accounts.services import workspace_create

    workspace = workspace_create(name="Bench", plan_code="enterprise")
    results = []
    worker = Celery("worker", env, logs / "worker.log", args.concurrency)
    try:
        if only & {"throughput", "latency"}:
            receiver = Receiver()
            worker.start()
            # Warm up: the worker is ready when a delivery arrives.
            setup_endpoints(workspace, receiver, 1)
            emit_batched(workspace, 20)
            if not wait_for(receiver, 20, timeout=60):
                raise RuntimeError(f"the worker delivered nothing; see {logs / 'worker.log'}")
            if "throughput" in only:
                for endpoints in args.endpoints:
                    results.append(run_throughput(workspace, receiver, events=args.events, endpoints=endpoints))
                    print(json.dumps(results[-1]), flush=True)
            if "latency" in only:
                results.append(run_latency(workspace, receiver, rate=args.rate, seconds=args.latency_seconds))
                print(json.dumps(results[-1]), flush=True)
            worker.stop()
            receiver.stop()
        if "chaos" in only:
            results.append(
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
            print(json.dumps(results[-1]), flush=True)
    finally:
        worker.stop()
        redis.stop()
    verdicts = []
    for row in results:
        if row["scenario"].startswith("throughput"):
            verdicts.append(
                f"{row['scenario']}: {row['deliveries_per_second']}/s ≥ 1000/s: "
                f"{'PASS' if (row['deliveries_per_second'] or 0) >= 1000 and row['complete'] else 'FAIL'}"
            )
        elif row["scenario"] == "latency":
            passed = row["p95_ms"] is not None and row["p95_ms"] <= 100 and row["complete"]
            verdicts.append(
                f"latency at {row['actual_rate']}/s: p95 {row['p95_ms']} ms ≤ 100 ms: {'PASS' if passed else 'FAIL'}"
            )
        elif row["scenario"] == "chaos":
            verdicts.append(
                f"chaos: {row['missing_event_ids']} missing, {row['duplicate_2xx']} duplicates: "
                f"{'PASS' if row['complete'] else 'FAIL'}"
            )
    print("\n".join(verdicts))
    out = RESULTS_DIR / f"{stamp}.webhooks.json"
    out.write_text(
        json.dumps(
            {"results": results, "verdicts": verdicts, "cpus": os.cpu_count(), "concurrency": args.concurrency},
            indent=2,
        )
    )
    print(f"results: {out}; logs: {logs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
