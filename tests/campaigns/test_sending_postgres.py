"""Campaign sending on PostgreSQL: real commits, a worker killed mid-campaign and the campaign
resumed by the next driver, every recipient sent exactly once; two drivers at once."""

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from contextvars import copy_context
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import time_machine
from celery.signals import worker_shutting_down
from django.db import connection
from django.utils import timezone

from messaging.campaigns import engine, leases, sending
from messaging.campaigns.models import Campaign, Recipient

from .conftest import campaign_body, run_beat

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
URL = "/api/v1/campaigns"


def _test_database_url() -> str:
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path="/" + connection.settings_dict["NAME"]))


def _campaign(api, count: int) -> str:
    # Numbers in London, at noon UTC: inside their allowed hours whatever day the test runs.
    recipients = [{"phone": f"+4420718{n:05d}", "context": {"first_name": f"N{n}", "time": "9"}} for n in range(count)]
    response = api.post(
        URL,
        campaign_body(
            schedule_at=timezone.now().isoformat(),
            recipients=recipients,
            quiet_hours={"start": "00:00", "end": "00:00"},  # none: the test may run at any hour
        ),
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response.json()["id"]


DRIVER = """
import sys
import django
django.setup()
from leadhub.tenancy import object_scope
from messaging.campaigns import engine, leases, sending
from messaging.campaigns.models import Campaign
with object_scope(Campaign, sys.argv[1]):  # as the campaign_drive task
    engine.campaign_drive(campaign_id=sys.argv[1], sender_for=sending.sender_for, max_seconds=120)
print("finished", flush=True)
"""


def test_a_worker_killed_mid_campaign_resumes_and_sends_every_recipient_exactly_once(
    sender_api, twilio_api, verified_line
):
    campaign_id = _campaign(sender_api, 60)
    leases.campaigns_start_due()
    twilio_api.delay = 0.05  # slow enough to be killed in the middle
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "leadhub.settings",
        "DATABASE_URL": _test_database_url(),
        "TWILIO_API_BASE_URL": twilio_api.url,
    }
    worker = subprocess.Popen(
        [sys.executable, "-c", DRIVER, campaign_id],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while len(twilio_api.messages) < 10:
            assert worker.poll() is None, worker.stderr.read().decode()
            assert time.monotonic() < deadline, "the worker sent nothing"
            time.sleep(0.01)
    finally:
        os.killpg(worker.pid, signal.SIGKILL)  # mid-chunk: some hand-offs made, not recorded
        worker.wait(10)
    twilio_api.delay = 0
    reached = len(twilio_api.messages)
    assert 10 <= reached < 60
    assert leases.campaign_leases_held(campaign_id) == 1  # the dead worker's slot

    # The campaign's other slot is free: a driver goes on with the recipients still queued at
    # once, and leaves what the dead worker left `sending` alone (it may be handing it over).
    run_beat()
    left = Counter(Recipient.objects.filter(campaign_id=campaign_id).values_list("status", flat=True))
    assert left["queued"] == 0 and left["sending"] > 0
    # Three minutes on: the lease has expired, and what the dead worker left `sending` is
    # reconciled with the provider's Messages list: sent when the provider has it, sent now
    # when it does not. The kill only delayed them.
    with time_machine.travel(timezone.now() + timedelta(minutes=3), tick=True):
        run_beat()

    sent_to = Counter(message["To"] for message in twilio_api.messages)
    assert sorted(sent_to.values()) == [1] * 60, "a recipient was sent twice, or never"
    accepted = {message["to"]: message["sid"] for message in twilio_api.accepted}
    recipients = list(Recipient.objects.filter(campaign_id=campaign_id).select_related("message"))
    assert Counter(r.status for r in recipients) == {"sent": 60}
    assert {r.phone: r.provider_sid for r in recipients} == accepted
    assert all((r.message.status, r.message.provider_sid) == ("sent", r.provider_sid) for r in recipients)
    assert Campaign.objects.get(pk=campaign_id).status == "completed"


def test_two_drivers_at_once_send_each_recipient_once(sender_api, twilio_api, verified_line):
    campaign_id = _campaign(sender_api, 40)
    leases.campaigns_start_due()
    twilio_api.delay = 0.01
    start = threading.Barrier(2)
    # Neither sends until both hold a slot: on a loaded machine one driver could otherwise send
    # all 40 before the other asked for a slot, and find the campaign done.
    both_hold_a_slot = threading.Barrier(2, timeout=30)
    results = []

    def sender_for(campaign):
        both_hold_a_slot.wait()
        return sending.sender_for(campaign)

    def drive():
        try:
            start.wait()
            results.append(engine.campaign_drive(campaign_id=campaign_id, sender_for=sender_for))
        finally:
            connection.close()

    threads = [threading.Thread(target=copy_context().run, args=(drive,)) for _ in range(2)]  # the test's scope
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Both hold a slot and claim with SKIP LOCKED: between them every recipient once.
    assert [result is not None for result in results] == [True, True]
    assert sum(result.sent for result in results if result is not None) == 40
    assert sorted(Counter(m["To"] for m in twilio_api.messages).values()) == [1] * 40
    assert Recipient.objects.filter(campaign_id=campaign_id, status="sent").count() == 40


def test_worker_shutdown_stops_the_drivers_after_their_chunk_and_the_campaign_resumes(
    sender_api, twilio_api, verified_line
):
    campaign_id = _campaign(sender_api, 60)
    leases.campaigns_start_due()
    twilio_api.delay = 0.02
    results = []

    def drive():
        try:
            results.append(engine.campaign_drive(campaign_id=campaign_id, sender_for=sending.sender_for))
        finally:
            connection.close()

    driver = threading.Thread(target=copy_context().run, args=(drive,))  # the test's scope
    driver.start()
    try:
        deadline = time.monotonic() + 60
        while len(twilio_api.messages) < 5:
            assert time.monotonic() < deadline, "the driver sent nothing"
            time.sleep(0.01)
        worker_shutting_down.send(sender="celery@test", sig="SIGTERM", how="Warm", exitcode=0)
        driver.join(60)
        assert not driver.is_alive()
    finally:
        engine.DRIVERS_STOP.clear()  # what a worker starting again does (worker_init)

    (result,) = results
    assert result.more and not result.completed
    statuses = Counter(Recipient.objects.filter(campaign_id=campaign_id).values_list("status", flat=True))
    # Its chunk finished (nothing left `sending`), its slot freed, the rest still queued.
    assert statuses["sending"] == 0 and statuses["queued"] > 0
    assert statuses["sent"] == len(twilio_api.messages)
    assert leases.campaign_leases_held(campaign_id) == 0
    assert Campaign.objects.get(pk=campaign_id).status == "running"

    twilio_api.delay = 0
    run_beat()  # a worker again: the campaign goes on at once
    assert sorted(Counter(m["To"] for m in twilio_api.messages).values()) == [1] * 60
    assert Campaign.objects.get(pk=campaign_id).status == "completed"


SHUTDOWN_QUEUE = "tests-campaign-shutdown"


def test_a_prefork_worker_told_to_stop_leaves_its_campaign_at_once_and_it_completes_once(
    sender_api, twilio_api, verified_line
):
    """SIGTERM reaches only a prefork worker's parent; the driver runs in a child, which must
    stop after its chunk rather than finish its slice (DRIVE_SECONDS), or a deploy waits."""
    if not os.environ.get("REDIS_URL"):
        pytest.skip("needs Redis as the broker (REDIS_URL)")
    campaign_id = _campaign(sender_api, 100)
    provider = verified_line.provider
    provider.mps = 5  # 100 recipients: 20 s, a whole slice, unless the driver stops
    provider.save(update_fields=["mps"])
    leases.campaigns_start_due()
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "leadhub.settings",
        "DATABASE_URL": _test_database_url(),
        "DATABASE_ROLE": "leadhub_app",  # a worker refuses a superuser's connection
        "RLS_ALLOW_PRIVILEGED_LOGIN": "true",
        "TWILIO_API_BASE_URL": twilio_api.url,
    }
    command = [sys.executable, "-m", "celery", "-A", "leadhub", "worker", "-P", "prefork", "-c", "1"]
    command += ["-Q", SHUTDOWN_QUEUE, "-n", f"{SHUTDOWN_QUEUE}@%h", "--without-gossip", "--without-mingle"]
    command += ["--without-heartbeat", "--loglevel", "INFO"]
    worker = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        from leadhub.celery import app

        app.send_task("campaigns.tasks.campaign_drive", args=[campaign_id], queue=SHUTDOWN_QUEUE)
        deadline = time.monotonic() + 60
        while len(twilio_api.messages) < 3:
            assert worker.poll() is None, worker.stderr.read().decode()
            assert time.monotonic() < deadline, "the worker sent nothing"
            time.sleep(0.02)
        os.kill(worker.pid, signal.SIGTERM)  # the parent alone, as a deploy or Ctrl-C does
        output = worker.communicate(timeout=60)[1].decode()
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(10)
    assert worker.returncode == 0, output

    # The driver stopped after its chunk: its recipients recorded, its slot free, most still
    # queued (it did not run its slice out).
    statuses = Counter(Recipient.objects.filter(campaign_id=campaign_id).values_list("status", flat=True))
    assert statuses["sending"] == 0 and statuses["queued"] > 50, statuses
    assert statuses["sent"] == len(twilio_api.messages)
    assert leases.campaign_leases_held(campaign_id) == 0

    provider.mps = 50
    provider.save(update_fields=["mps"])
    run_beat()  # a worker again: the campaign goes on, each recipient once
    assert sorted(Counter(m["To"] for m in twilio_api.messages).values()) == [1] * 100
    assert Campaign.objects.get(pk=campaign_id).status == "completed"
