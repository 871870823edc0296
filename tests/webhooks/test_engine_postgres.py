"""The sweep on PostgreSQL: real commits, the real broker, concurrent sweepers, a killed worker."""

import os
import subprocess
import sys
import threading
from contextvars import copy_context
from datetime import timedelta
from pathlib import Path
from unittest import mock
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.db import connection, transaction

from leadhub.celery import app
from webhooks.models import Attempt, Delivery
from webhooks.services import endpoint_create, event_emit
from webhooks.tasks import deliveries_sweep

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


ROOT = Path(__file__).resolve().parents[2]


def emit_many(workspace, count: int) -> list[str]:
    ids = []
    for n in range(count):
        with transaction.atomic():
            ids.append(str(event_emit(workspace=workspace, type="lead.created", data={"n": n}).id))
    return ids


def test_the_sweep_delivers_when_the_dispatch_message_is_lost(workspace_a, receiver):
    endpoint_create(workspace=workspace_a, url=receiver.url)
    app.control.purge()
    (event_id,) = emit_many(workspace_a, 1)  # commits: the dispatch message goes to Redis

    assert app.control.purge() == 1  # ... and is lost (a Redis restart, a dropped message)
    assert receiver.received == []
    assert Delivery.objects.get().status == Delivery.Status.PENDING

    assert deliveries_sweep() == 1

    assert receiver.webhook_ids() == [event_id]
    assert Delivery.objects.get().status == Delivery.Status.SUCCEEDED


def test_two_sweepers_at_once_never_send_one_attempt_twice(workspace_a, workspace_b, receiver):
    for workspace in (workspace_a, workspace_b):
        for _ in range(2):
            endpoint_create(workspace=workspace, url=receiver.url)
    event_ids = emit_many(workspace_a, 20) + emit_many(workspace_b, 20)
    app.control.purge()
    receiver.delays.extend([0.01] * 80)  # slow enough that the sweeps overlap
    start = threading.Barrier(2)
    sent = []

    def sweep():
        try:
            start.wait()
            sent.append(deliveries_sweep())
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Each event reached each of its workspace's two endpoints exactly once.
    assert sorted(receiver.webhook_ids()) == sorted(event_ids * 2)
    assert sum(sent) == 80
    assert Attempt.objects.count() == 80
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.SUCCEEDED}


def _test_database_url() -> str:
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path="/" + connection.settings_dict["NAME"]))


WORKER = """
import django
django.setup()
from leadhub.tenancy import operator_scope
from webhooks.engine import deliveries_claim, delivery_attempt
with operator_scope("webhook_engine"):  # as the delivery tasks
    (delivery,) = deliveries_claim()
    print("claimed", flush=True)
    delivery_attempt(delivery=delivery)
print("finished", flush=True)
"""


def test_a_worker_killed_mid_attempt_is_recovered_when_its_lease_expires(workspace_a, receiver):
    endpoint_create(workspace=workspace_a, url=receiver.url)
    (event_id,) = emit_many(workspace_a, 1)
    app.control.purge()
    receiver.delays.append(30)  # the first attempt hangs until the worker is killed
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "leadhub.settings",
        "DATABASE_URL": _test_database_url(),
        "WEBHOOK_ALLOW_HTTP": "true",
        "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
    }
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        receiver.wait_for(1, timeout=30)
    finally:
        worker.kill()
        out, err = worker.communicate()
    assert b"claimed" in out and b"finished" not in out, err.decode()

    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.lease_expires_at is not None
    assert delivery.attempts.count() == 0
    assert deliveries_sweep() == 0  # still leased to the dead worker

    with mock.patch("django.utils.timezone.now", return_value=delivery.lease_expires_at + timedelta(seconds=1)):
        assert deliveries_sweep() == 1

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SUCCEEDED
    assert [attempt.status_code for attempt in delivery.attempts.all()] == [200]
    assert receiver.webhook_ids() == [event_id, event_id]  # consumers deduplicate on webhook-id


def test_deleting_an_endpoint_while_an_attempt_is_recorded_deletes_both(workspace_a, receiver):
    from webhooks.services import endpoint_delete

    endpoint = endpoint_create(workspace=workspace_a, url=receiver.url).endpoint
    emit_many(workspace_a, 1)
    delivery = Delivery.objects.get()
    recording, release, errors = threading.Event(), threading.Event(), []

    def record():  # what delivery_attempt does when it records an outcome, held open
        try:
            with transaction.atomic():
                Delivery.objects.filter(pk=delivery.pk).update(attempt_count=1)
                Attempt.objects.create(delivery=delivery, status_code=500)
                recording.set()
                release.wait(10)
        finally:
            connection.close()

    def delete():
        try:
            endpoint_delete(workspace=workspace_a, endpoint=endpoint)
        except Exception as exc:  # the failure this test guards against: an FK violation
            errors.append(exc)
        finally:
            connection.close()

    recorder = threading.Thread(target=copy_context().run, args=(record,))  # in the test's scope
    recorder.start()
    assert recording.wait(10)
    deleter = threading.Thread(target=copy_context().run, args=(delete,))
    deleter.start()
    deleter.join(0.5)
    assert deleter.is_alive()  # waits for the recording transaction
    release.set()
    recorder.join()
    deleter.join()

    assert errors == []
    assert not Delivery.objects.exists()
    assert not Attempt.objects.exists()
