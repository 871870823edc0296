"""Where a campaign of 10,000 recipients spends its time, in-process: the create request and
the drivers handing messages to the Twilio double, with the bench's settings (PostgreSQL, Redis).

    .venv/bin/python bench/profile_campaigns.py [--recipients 10000] [--mps 1000] [--drivers 1]
        [--only create] [--cprofile create|send] [--sort tottime]

Like bench/run.py it recreates BENCH_DATABASE_URL and flushes BENCH_REDIS_URL. The create is
`POST /api/v1/campaigns` through Django's test client (no gunicorn); the send is `--drivers`
threads each running `engine.campaign_drive` (what the Celery task runs) until every recipient
is handed over (CAMPAIGN_DRIVERS must allow that many). Both
print wall time and this process's CPU time beside the PostgreSQL backends' (read from /proc),
so the figures mean something on a loaded machine; --cprofile prints the costliest functions
of that part.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import run  # bench/run.py: database, Redis and environment set-up
from cpu import machine_busy  # bench/cpu.py

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/leadhub_bench_campaigns_profile"
ACCOUNT_SID = "AC" + "b" * 32
AUTH_TOKEN = "bench-token-" + "c" * 20
LINE_NUMBER = "+18187400100"


def postgres_cpu(database: str) -> float:
    """CPU seconds of the PostgreSQL backends connected to `database` (from /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if stat[stat.index("(") + 1 : stat.rindex(")")].startswith("postgres") and f" {database} " in cmdline:
            fields = stat[stat.rindex(")") + 2 :].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


class Measure:
    def __init__(self, database: str, profile: bool, sort: str = "cumulative"):
        self.database, self.profile, self.sort = database, profile, sort

    def __enter__(self):
        self.profiler = cProfile.Profile() if self.profile else None
        self.pg = postgres_cpu(self.database)
        self.cpu = time.process_time()
        self.wall = time.perf_counter()
        if self.profiler:
            self.profiler.enable()
        return self

    def __exit__(self, *exc):
        if self.profiler:
            self.profiler.disable()
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu
        self.pg = postgres_cpu(self.database) - self.pg
        if self.profiler:
            out = io.StringIO()
            pstats.Stats(self.profiler, stream=out).sort_stats(self.sort).print_stats(45)
            print(out.getvalue())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--mps", type=int, default=1000)
    parser.add_argument("--cprofile", choices=["create", "send"])
    parser.add_argument("--only", choices=["create"], help="stop after the create")
    parser.add_argument("--drivers", type=int, default=1, help="drivers (threads here) sending the campaign at once")
    parser.add_argument("--sort", default="cumulative", help="cProfile's sort key (cumulative, tottime)")
    args = parser.parse_args(argv)

    database_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    redis_url = os.environ.get("BENCH_REDIS_URL", run.DEFAULT_REDIS_URL)
    busy = machine_busy()
    env, credentials = run.prepare(database_url, redis_url)
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "leadhub.settings"
    from tests.messaging.doubles import TwilioDouble

    double = TwilioDouble().start()
    double.add_number(ACCOUNT_SID, AUTH_TOKEN, LINE_NUMBER)
    os.environ["TWILIO_API_BASE_URL"] = double.url

    import django

    django.setup()
    from leadhub.tenancy import enter_operator, object_scope

    enter_operator("bench")  # the seeding and checks here; the measured request clears it
    from campaigns import recipients  # bench/campaigns.py: the bench's recipients
    from django.test import Client

    from accounts.models import Workspace
    from crm.normalize import parse_phone
    from messaging.campaigns import engine, leases, sending
    from messaging.campaigns.models import Campaign, Recipient
    from messaging.lines.services import Credentials, line_connect

    database = database_url.rsplit("/", 1)[1]
    workspace = Workspace.objects.get(pk=credentials["workspace_id"])
    line_connect(
        workspace=workspace,
        name="Bench",
        phone=parse_phone(LINE_NUMBER, default_region="US"),
        credentials=Credentials(provider="twilio", account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN),
        mps=args.mps,
        is_default=True,
    )
    client = Client(HTTP_HOST="127.0.0.1")
    body = {
        "scenario": "bench",
        "channel": "sms",
        "schedule_at": datetime.now(UTC).isoformat(),
        "message_template": "Hi {{ first_name }}, see you at {{ time }}. Reply C to confirm.",
        "recipients": recipients(args.recipients),
        "quiet_hours": {"start": "00:00", "end": "00:00"},
    }
    payload = json.dumps(body)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {credentials['api_key']}"}
    # What gunicorn.conf.py does before a worker serves (the strict input's contracts) and the
    # imports of a first request: not the create's cost.
    assert client.get("/api/v1/campaigns", **auth).status_code == 200
    print(f"machine busy before: {busy}; load average {os.getloadavg()}")
    with Measure(database, args.cprofile == "create", args.sort) as create:
        response = client.post(
            "/api/v1/campaigns",
            payload,
            content_type="application/json",
            **auth,
        )
    assert response.status_code == 201, response.content[:500]
    campaign_id = response.json()["id"]
    print(
        f"create {args.recipients:,}: {create.wall:.2f} s wall, {create.cpu:.2f} s CPU here, "
        f"{create.pg:.2f} s CPU in PostgreSQL"
    )

    if args.only == "create":
        double.stop()
        return 0
    enter_operator("bench")  # again: the request left no scope behind
    leases.campaigns_start_due()

    def drive():
        # Its connection stays open until the process ends: a closed backend's CPU would be
        # gone from /proc before the measure reads it.
        with object_scope(Campaign, campaign_id):  # as the campaign_drive task
            while Recipient.objects.filter(campaign_id=campaign_id, status="queued").exists():
                engine.campaign_drive(campaign_id=campaign_id, sender_for=sending.sender_for, max_seconds=600)

    with Measure(database, args.cprofile == "send", args.sort) as send:
        drivers = [threading.Thread(target=drive) for _ in range(args.drivers)]
        for driver in drivers:
            driver.start()
        for driver in drivers:
            driver.join()
    handed = len(double.messages)
    stamps = [r.at for r in double.requests if r.method == "POST" and r.path.endswith("/Messages.json")]
    span = stamps[-1] - stamps[0] if len(stamps) > 1 else 0.0
    print(
        f"send {handed:,}: {(len(stamps) - 1) / span if span else 0:.0f}/s handed over ({span:.2f} s), "
        f"{send.cpu / max(handed, 1) * 1000:.3f} ms CPU per message here (the double's threads included), "
        f"{send.pg / max(handed, 1) * 1000:.3f} ms in PostgreSQL"
    )
    print(f"campaign: {Campaign.objects.get(pk=campaign_id).status}; load average {os.getloadavg()}")
    double.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
