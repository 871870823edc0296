"""Where WhatsApp and SMS spend their CPU, in-process, with the bench's settings (issue #9):

    .venv/bin/python bench/profile_messaging.py [--requests 300] [--sends 1000]
        [--cprofile inbound|handoff|drain]

Like bench/messaging.py it recreates BENCH_DATABASE_URL and flushes BENCH_REDIS_URL; the
Twilio double runs in a process of its own (its CPU is not this process's). It prints, per
unit of work, the SQL statements and Redis commands (below Django) and the wall and CPU time:

- inbound: `POST /api/whatsapp-inbound` through Django's test client (signed, 2,000 leads in
  turn, the offline responder), as bench/messaging.py part (a) posts it;
- handoff: `message_handoff` of one queued message at a time (the per-message task's work);
- drain: the same messages through the hand-off list and `handoff_drain` (the batched task's
  work, Redis), per message.

With --cprofile, the functions that cost most in the one named.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import harness  # bench/harness.py: database, Redis and environment set-up
import messaging_setup  # bench/messaging_setup.py: the line, the knowledge, signed inbound webhooks
from profiling import Tally, timed  # bench/profiling.py

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/leadhub_bench_messaging"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/13"

# The Twilio double in a process of its own: it prints its URL, then serves until stdin closes.
DOUBLE = (
    "import sys; from tests.messaging.doubles import TwilioDouble; d = TwilioDouble().start(); "
    "d.add_number(sys.argv[1], sys.argv[2], sys.argv[3]); print(d.url, flush=True); sys.stdin.read()"
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="inbound requests per measurement")
    parser.add_argument("--sends", type=int, default=1000, help="messages per hand-off measurement")
    parser.add_argument("--cprofile", choices=["inbound", "handoff", "drain"])
    args = parser.parse_args(argv)

    database_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL)
    env, credentials = harness.prepare(database_url, redis_url)
    double = subprocess.Popen(
        [
            sys.executable,
            "-c",
            DOUBLE,
            messaging_setup.ACCOUNT_SID,
            messaging_setup.AUTH_TOKEN,
            messaging_setup.LINE_NUMBER,
        ],
        cwd=harness.REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        twilio_url = double.stdout.readline().strip()
        os.environ.update(env)
        os.environ.update(
            DJANGO_SETTINGS_MODULE="leadhub.settings",
            TWILIO_API_BASE_URL=twilio_url,
            PUBLIC_BASE_URL=messaging_setup.PUBLIC_BASE_URL,
            ANTHROPIC_API_KEY="",
        )
        return _profile(args, credentials)
    finally:
        double.stdin.close()
        double.wait(timeout=10)


def _profile(args, credentials) -> int:
    import django

    django.setup()
    from leadhub.tenancy import enter_operator

    enter_operator("bench")  # the seeding, queueing and checks here; each measured request clears it
    from celery import current_app
    from django.test import Client

    from accounts.models import Workspace
    from crm.normalize import parse_phone
    from messaging.models import Message
    from messaging.outbound import handoff
    from messaging.outbound.services import message_handoff, number_send

    messaging_setup.seed(workspace_id=credentials["workspace_id"])
    workspace = Workspace.objects.get(pk=credentials["workspace_id"])
    tally = Tally()
    client = Client(HTTP_HOST="127.0.0.1")
    counter = iter(range(10**9))

    def inbound():
        n = next(counter)
        form, signature = messaging_setup.signed_form(
            n, sender=messaging_setup.lead(n), body=messaging_setup.QUESTIONS[n % len(messaging_setup.QUESTIONS)]
        )
        response = client.post(
            messaging_setup.INBOUND,
            form,
            content_type="application/x-www-form-urlencoded",
            HTTP_X_TWILIO_SIGNATURE=signature,
        )
        assert response.status_code == 200 and b"<Message>" in response.content, response.content
        return response

    # Nothing goes to a broker: queued messages are handed over by the calls below.
    sent_tasks: list = []
    current_app.send_task = lambda *a, **k: sent_tasks.append(a)
    sends = iter(range(10**9))

    def queue(count: int) -> list[int]:
        ids = []
        for _ in range(count):
            n = next(sends)
            message = number_send(
                workspace=workspace,
                to=parse_phone(messaging_setup.lead(n, area="310"), default_region="US"),
                channel="whatsapp",
                content_sid="HX" + "d" * 32,
                content_variables={"1": f"#{n}"},
            )
            ids.append(message.pk)
        return ids

    print("medians of wall time, means of CPU time (this process only; the Twilio double apart)\n")
    rows = {}

    # --- inbound ---
    inbound()
    tally.reset()
    inbound()
    sql, cmds = dict(tally.sql), dict(tally.redis)
    wall, cpu = timed(inbound, args.requests)
    rows["inbound"] = cpu
    print(f"POST /api/whatsapp-inbound: {wall:.2f} ms wall, {cpu:.2f} ms CPU per request")
    print(f"  SQL per request ({sum(sql.values())}): {json.dumps(sql)}")
    print(f"  Redis per request ({sum(cmds.values())}): {json.dumps(cmds)}\n")

    # --- handoff, one message at a time ---
    pending = queue(args.sends + 30)  # timed() warms up with 20 more

    def one():
        assert message_handoff(message_id=pending.pop()) == "sent"

    one()
    tally.reset()
    one()
    sql, cmds = dict(tally.sql), dict(tally.redis)
    wall, cpu = timed(one, args.sends)
    rows["handoff"] = cpu
    print(f"message_handoff, one message: {wall:.2f} ms wall, {cpu:.2f} ms CPU per message")
    print(f"  SQL per message ({sum(sql.values())}): {json.dumps(sql)}\n")

    # --- drain: the list in Redis, a batch at a time ---
    redis = handoff._redis()
    redis.delete(handoff.PENDING_KEY)
    ids = queue(args.sends)  # each commit puts its id on the list (REDIS_URL is set)
    tally.reset()
    started_cpu, started = time.process_time(), time.perf_counter()
    assert handoff.handoff_drain(seconds=3600) == len(ids)
    cpu = (time.process_time() - started_cpu) * 1000 / len(ids)
    wall = (time.perf_counter() - started) * 1000 / len(ids)
    sql, cmds = dict(tally.sql), dict(tally.redis)
    assert Message.objects.filter(pk__in=ids, status="sent").count() == len(ids)
    rows["drain"] = cpu
    print(
        f"handoff_drain, {len(ids)} messages in batches of {handoff.BATCH}: "
        f"{wall:.2f} ms wall, {cpu:.2f} ms CPU per message"
    )
    print(f"  SQL for all ({sum(sql.values())}): {json.dumps(sql)}")
    print(f"  Redis for all ({sum(cmds.values())}): {json.dumps(cmds)}\n")

    if args.cprofile:
        profile = cProfile.Profile(time.process_time)  # CPU time: waits on PostgreSQL and Redis do not count
        if args.cprofile == "inbound":
            profile.enable()
            for _ in range(args.requests):
                inbound()
        elif args.cprofile == "handoff":
            pending = queue(args.sends)
            profile.enable()
            while pending:
                one()
        else:
            redis.delete(handoff.PENDING_KEY)
            queue(args.sends)
            profile.enable()
            handoff.handoff_drain(seconds=3600)
        profile.disable()
        stream = io.StringIO()
        stats = pstats.Stats(profile, stream=stream).strip_dirs()
        stats.sort_stats("cumulative").print_stats(50)
        stats.sort_stats("tottime").print_stats(30)
        print(stream.getvalue())
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except harness.BenchError as exc:
        print(f"profile: {exc}", file=sys.stderr)
        sys.exit(1)
