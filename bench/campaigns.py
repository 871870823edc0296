"""A campaign of 10,000 SMS recipients to the Twilio double, as production runs it: gunicorn
(PostgreSQL, Redis) takes the create request, a Celery worker and beat send it. Targets: the
create request in at most 3 s, and at least 500 messages a second handed to the provider once
the campaign runs.

    .venv/bin/python bench/campaigns.py [--recipients 10000] [--mps 1000] [--concurrency 2] [--strict]

The Twilio double (tests/messaging/doubles.py, a threaded HTTP server on 127.0.0.1) runs in this
process and records when each Messages.json post arrived; the rate is (N - 1) / (last - first).
The line is created through `POST /api/v1/lines` (verified against the double) with the given
`mps`; the campaign through `POST /api/v1/campaigns`, due at once, without quiet hours (so the
figure does not depend on the hour of the run). Every recipient must be sent exactly once.

Environment: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/leadhub_bench_campaigns;
dropped and recreated), BENCH_REDIS_URL (default redis://127.0.0.1:6379/14; flushed). Uses
bench/run.py's database reset and gunicorn, and bench/webhooks.py's Celery processes.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from datetime import UTC, datetime

from cpu import machine_busy  # bench/cpu.py
from run import REPO, BenchError, Server, prepare

sys.path.insert(1, str(REPO))
from tests.messaging.doubles import TwilioDouble  # the repository, after bench/

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/leadhub_bench_campaigns"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"
TARGET_CREATE_SECONDS = 3.0
TARGET_PER_SECOND = 500.0
ACCOUNT_SID = "AC" + "b" * 32
AUTH_TOKEN = "bench-token-" + "c" * 20
LINE_NUMBER = "+18187400100"


def _bench_webhooks():
    """bench/webhooks.py (its Celery process helper), loaded by path: its module name is the app's."""
    spec = importlib.util.spec_from_file_location("bench_webhooks", REPO / "bench" / "webhooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def post(base_url: str, path: str, body: dict, api_key: str) -> tuple[int, dict, float]:
    data = json.dumps(body).encode()
    request = urllib.request.Request(
        base_url + path,
        data=data,
        method="POST",
        headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"},
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            status, payload = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, payload = exc.code, exc.read()
    elapsed = time.perf_counter() - started
    return status, json.loads(payload or b"{}"), elapsed


def get(base_url: str, campaign_id: str, api_key: str) -> dict:
    request = urllib.request.Request(
        f"{base_url}/api/v1/campaigns/{campaign_id}", headers={"Authorization": f"Bearer {api_key}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def recipients(count: int) -> list[dict]:
    # Los Angeles numbers, exchanges 220-299 (valid), 10,000 per exchange.
    return [
        {"phone": f"+1818{220 + n // 10000:03d}{n % 10000:04d}", "context": {"first_name": f"Lead{n}", "time": "10:30"}}
        for n in range(count)
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--mps", type=int, default=1000, help="the line's messages per second (at most 1000)")
    parser.add_argument("--concurrency", type=int, default=2, help="Celery worker processes")
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait for every message")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    database_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL)
    busy = machine_busy()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    logs = REPO / "bench" / "results"
    logs.mkdir(parents=True, exist_ok=True)
    celery = _bench_webhooks().Celery
    with TwilioDouble() as double:
        double.add_number(ACCOUNT_SID, AUTH_TOKEN, LINE_NUMBER)
        env, credentials = prepare(database_url, redis_url)
        env["TWILIO_API_BASE_URL"] = double.url
        key = credentials["api_key"]
        processes = []
        with Server(env, logs / f"campaigns-gunicorn-{stamp}.log") as server:
            server.wait_ready()
            status, line, _ = post(
                server.base_url,
                "/api/v1/lines",
                {
                    "name": "Bench",
                    "phone_number": LINE_NUMBER,
                    "provider": "twilio",
                    "account_sid": ACCOUNT_SID,
                    "auth_token": AUTH_TOKEN,
                    "is_default": True,
                    "mps": args.mps,
                },
                key,
            )
            if status != 201:
                raise BenchError(f"creating the line answered {status}: {line}")
            body = {
                "scenario": "bench",
                "channel": "sms",
                "schedule_at": datetime.now(UTC).isoformat(),
                "message_template": "Hi {{ first_name }}, see you at {{ time }}. Reply C to confirm.",
                "recipients": recipients(args.recipients),
                "quiet_hours": {"start": "00:00", "end": "00:00"},
            }
            status, campaign, create_seconds = post(server.base_url, "/api/v1/campaigns", body, key)
            if status != 201:
                raise BenchError(f"creating the campaign answered {status}: {str(campaign)[:500]}")
            print(f"create: {args.recipients:,} recipients in {create_seconds:.2f} s", flush=True)

            worker = celery("worker", env, logs / f"campaigns-worker-{stamp}.log", concurrency=args.concurrency)
            beat = celery("beat", env, logs / f"campaigns-beat-{stamp}.log")
            processes = [worker, beat]
            try:
                for process in processes:
                    process.start()
                deadline = time.monotonic() + args.timeout
                while time.monotonic() < deadline:
                    # Every message handed over, then every outcome recorded (the last chunk's).
                    if len(double.messages) >= args.recipients and get(server.base_url, campaign["id"], key)[
                        "status"
                    ] in ("completed", "cancelled"):
                        break
                    time.sleep(0.2)
            finally:
                for process in processes:
                    process.stop()
            final = get(server.base_url, campaign["id"], key)
    stamps = [r.at for r in double.requests if r.method == "POST" and r.path.endswith("/Messages.json")]
    sent_to = Counter(message["To"] for message in double.messages)
    duplicates = sum(1 for n in sent_to.values() if n > 1)
    span = (stamps[-1] - stamps[0]) if len(stamps) > 1 else 0.0
    per_second = (len(stamps) - 1) / span if span else 0.0
    problems = []
    if len(sent_to) != args.recipients:
        problems.append(f"{len(sent_to)} of {args.recipients} recipients reached the provider")
    if duplicates:
        problems.append(f"{duplicates} recipients were sent more than once")
    if final["counts"]["sent"] != args.recipients:
        problems.append(f"counts after the run: {final['counts']}")
    passed = not problems and create_seconds <= TARGET_CREATE_SECONDS and per_second >= TARGET_PER_SECOND
    report = {
        "when": stamp,
        "machine_busy_before": busy,
        "recipients": args.recipients,
        "line_mps": args.mps,
        "worker_concurrency": args.concurrency,
        "create_seconds": round(create_seconds, 3),
        "handed_per_second": round(per_second, 1),
        "sending_seconds": round(span, 3),
        "campaign": {key_: final[key_] for key_ in ("status", "counts")},
        "problems": problems,
        "targets": f"create <= {TARGET_CREATE_SECONDS:g} s, >= {TARGET_PER_SECOND:g} messages/s to the provider",
        "pass": passed,
    }
    out = logs / f"campaigns-{stamp}.json"
    out.write_text(json.dumps(report, indent=2))
    print(f"machine busy before: {busy}")
    print(f"create request: {create_seconds:.2f} s (target <= {TARGET_CREATE_SECONDS:g} s)")
    print(
        f"handed to the provider: {per_second:.0f}/s over {span:.1f} s (target >= {TARGET_PER_SECOND:g}/s); "
        f"campaign {final['status']} {final['counts']}"
    )
    for problem in problems:
        print(f"PROBLEM: {problem}")
    print(f"{'PASS' if passed else 'FAIL'}   ({out.relative_to(REPO)})")
    return 1 if (args.strict and not passed) or problems else 0


if __name__ == "__main__":
    sys.exit(main())
