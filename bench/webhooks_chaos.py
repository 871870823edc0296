"""The chaos run of bench/webhooks.py: 2,000 events, the receiver failing 30 % of requests at
random, a worker killed (SIGKILL) and restarted twice, Redis restarted once; every event id must
arrive, duplicates are counted. The workers run with WEBHOOK_RETRY_SCALE=0.01 (the schedule 100
times faster)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from webhooks_services import Celery, Receiver, Redis, setup_endpoints

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
