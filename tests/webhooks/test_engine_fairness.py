"""The engine under load, on PostgreSQL with real receivers on 127.0.0.1: a trickling receiver
is cut at the deadline while others keep receiving; a flood in one workspace does not delay
another's next delivery beyond about one claim; the per-endpoint and per-workspace caps hold
whatever the number of engines; an endpoint that keeps timing out is backed off as a whole."""

import socket
import threading
import time
import uuid
from contextvars import copy_context

import pytest
from django.db import connection, transaction
from django.utils import timezone

from leadhub.celery import app
from leadhub.tenancy import operator_scope
from webhooks.engine import deliveries_run
from webhooks.engine.health import BACKOFF_AFTER_TIMEOUTS
from webhooks.models import Attempt, Delivery, Endpoint, Event
from webhooks.services import deliveries_give_up, endpoint_create, event_emit
from webhooks.transport import http

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _no_broker_messages():
    yield
    app.control.purge()


def emit(workspace, count: int = 1) -> list[str]:
    ids = []
    for n in range(count):
        with transaction.atomic():
            ids.append(str(event_emit(workspace=workspace, type="lead.created", data={"n": n}).id))
    return ids


class Engine(threading.Thread):
    """deliveries_run on its own thread and database connection, as in a worker process."""

    def __init__(self, max_seconds: float = 30.0) -> None:
        super().__init__(daemon=True)
        self.max_seconds, self.sent, self.error = max_seconds, None, None

    def run(self) -> None:
        try:
            with operator_scope("webhook_engine"):  # as the delivery tasks
                self.sent = deliveries_run(max_seconds=self.max_seconds)
        except Exception as exc:  # surfaced by the test
            self.error = exc
        finally:
            connection.close()


class Trickler:
    """A receiver that answers one byte every `pause` seconds and never finishes."""

    def __init__(self, pause: float = 0.2) -> None:
        self.pause = pause
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.connected: list[float] = []
        self.dropped: list[float] = []
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/slow"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn: socket.socket) -> None:
        self.connected.append(time.monotonic())
        conn.recv(65536)
        try:
            for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Padding: " + b"x" * 1000:
                conn.sendall(bytes([byte]))
                time.sleep(self.pause)
        except OSError:
            self.dropped.append(time.monotonic())
        finally:
            conn.close()

    def stop(self) -> None:
        self.sock.close()


def test_a_trickling_receiver_is_cut_at_the_deadline_while_another_endpoint_keeps_receiving(
    workspace_a, workspace_b, receiver, monkeypatch
):
    # 10 s in production; 3 s leaves B's six deliveries room on a loaded machine
    monkeypatch.setattr(http, "TIMEOUT_SECONDS", 3)
    trickler = Trickler(pause=0.2)  # a byte every 0.2 s: no read ever waits long
    try:
        slow = endpoint_create(workspace=workspace_a, url=trickler.url).endpoint
        endpoint_create(workspace=workspace_b, url=receiver.url)
        emit(workspace_a)
        emit(workspace_b, 3)
        engine = Engine()
        engine.start()
        receiver.wait_for(3, timeout=30)
        # While the slow attempt trickles on, B's new events are claimed and delivered: all
        # six arrive before the slow attempt is dropped (an order of events, not a wall-clock
        # budget, so a loaded machine is slower but not wrong).
        emit(workspace_b, 3)
        receiver.wait_for(6, timeout=30)
        assert trickler.dropped == []
        engine.join(30)
        assert engine.error is None

        (attempt,) = Attempt.objects.filter(delivery__endpoint=slow)
        assert attempt.status_code is None
        assert attempt.error == "Timeout: no complete answer within 3 s."
        # Cut at the deadline: not before it, and long before the trickle's end (1,000 bytes
        # at 0.2 s each: over 3 minutes); a loaded machine only adds its scheduling delays.
        assert 2900 <= attempt.duration_ms < 12_000
        # The connection was dropped at the deadline: the trickler's next sends fail.
        deadline = time.monotonic() + 30
        while not trickler.dropped and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(trickler.dropped) == 1
        assert 2.9 <= trickler.dropped[0] - trickler.connected[0] < 12
        delivery = attempt.delivery
        assert delivery.status == Delivery.Status.PENDING and delivery.next_attempt_at > timezone.now()
        assert Delivery.objects.filter(endpoint__workspace=workspace_b, status="succeeded").count() == 6
    finally:
        trickler.stop()


def _flood(workspace, endpoints: list[Endpoint], count: int) -> None:
    """`count` events of the workspace, each to one of its endpoints in turn, as the outbox
    writes them (one transaction, bulk inserts)."""
    now = timezone.now()
    with transaction.atomic():
        events = Event.objects.bulk_create(
            [Event(workspace=workspace, type="lead.created", data={"n": n}) for n in range(count)]
        )
        Delivery.objects.bulk_create(
            [
                Delivery(workspace=workspace, event=event, endpoint=endpoints[n % len(endpoints)], next_attempt_at=now)
                for n, event in enumerate(events)
            ]
        )


def test_a_flood_in_one_workspace_does_not_delay_anothers_next_delivery(workspace_a, workspace_b, receiver, settings):
    settings.WEBHOOK_ENGINE_SLOTS = 100
    settings.WEBHOOK_WORKSPACE_MAX_IN_FLIGHT = 50
    plan = workspace_a.plan
    plan.max_webhook_endpoints = 200
    plan.save()
    receiver.delay = 0.01  # A's receivers take their time
    endpoints = [endpoint_create(workspace=workspace_a, url=f"{receiver.url}/a{n}").endpoint for n in range(200)]
    endpoint_create(workspace=workspace_b, url=f"{receiver.url}/b")
    _flood(workspace_a, endpoints, 5000)
    engines = [Engine(), Engine()]
    for engine in engines:
        engine.start()
    receiver.wait_for(200, timeout=30)  # the flood is under way

    # B's next delivery overtakes A's backlog: while it waits, A gets at most about one claim's
    # worth of requests through (its in-flight share, twice), not the thousands queued before.
    overtaken = []
    for _ in range(5):
        (event_id,) = emit(workspace_b)
        a_before = len(receiver.received)
        deadline = time.monotonic() + 30
        while event_id not in receiver.webhook_ids(last=200):
            assert time.monotonic() < deadline, "B's delivery never arrived"
            time.sleep(0.02)
        overtaken.append(len(receiver.received) - a_before - 1)
        assert Delivery.objects.filter(workspace=workspace_a, status="pending").count() > 1000  # still flooded
    # An operator gives up on the rest of the flood: the engines finish what is in flight.
    deliveries_give_up(workspace=workspace_a, deliveries=list(Delivery.objects.filter(workspace=workspace_a)))
    for engine in engines:
        engine.join(30)
        assert engine.error is None
    assert max(overtaken) <= 2 * settings.WEBHOOK_WORKSPACE_MAX_IN_FLIGHT, overtaken
    assert Delivery.objects.filter(workspace=workspace_b, status="succeeded").count() == 5


def test_the_per_endpoint_and_per_workspace_caps_hold_across_engines(workspace_a, workspace_b, receiver, settings):
    settings.WEBHOOK_ENDPOINT_MAX_IN_FLIGHT = 4
    settings.WEBHOOK_WORKSPACE_MAX_IN_FLIGHT = 6
    receiver.delay = 0.05
    for n in range(3):
        endpoint_create(workspace=workspace_a, url=f"{receiver.url}/a{n}")
    endpoint_create(workspace=workspace_b, url=f"{receiver.url}/b")
    concurrent_a = []
    lock = threading.Lock()
    original = receiver.server.RequestHandlerClass.do_POST

    def do_post(handler):
        with lock:
            now_a = sum(count for path, count in receiver.active.items() if "/a" in path)
            concurrent_a.append(now_a + ("/a" in handler.path))
        original(handler)

    receiver.server.RequestHandlerClass.do_POST = do_post
    emit(workspace_a, 40)  # 120 deliveries: 40 to each of A's three endpoints
    emit(workspace_b, 20)
    app.control.purge()
    engines = [Engine(), Engine(), Engine()]
    for engine in engines:
        engine.start()
    for engine in engines:
        engine.join(60)
        assert engine.error is None

    assert len(receiver.received) == 140
    assert set(Delivery.objects.values_list("status", flat=True)) == {"succeeded"}
    most = receiver.most_active
    assert max(most[f"/hooks/leadhub/a{n}"] for n in range(3)) <= 4  # never over the endpoint cap
    assert most["/hooks/leadhub/b"] <= 4
    assert max(concurrent_a) <= 6  # never over the workspace cap
    assert max(concurrent_a) >= 4  # and the engines did send concurrently
    assert most["/hooks/leadhub/b"] >= 2


def test_an_endpoint_that_keeps_timing_out_is_backed_off_as_a_whole(workspace_a, local_webhooks, monkeypatch, settings):
    monkeypatch.setattr(http, "TIMEOUT_SECONDS", 0.5)
    trickler = Trickler(pause=0.1)
    try:
        endpoint = endpoint_create(workspace=workspace_a, url=trickler.url).endpoint
        emit(workspace_a, 20)
        app.control.purge()

        # Claiming stops once the endpoint is backed off, so a generous window costs nothing
        # on a quiet machine and keeps a loaded CI machine from ending the round too early.
        deliveries_run(max_seconds=60)

        endpoint.refresh_from_db()
        assert endpoint.timeouts_in_row >= 3
        assert endpoint.backoff_until is not None and endpoint.backoff_until > timezone.now()
        # Only the first round of attempts was made: the endpoint's cap, plus at most the slots
        # freed by timeouts recorded before the third in a row (when outcomes come back one by
        # one on a loaded machine); the other deliveries wait, their attempts not spent, until
        # the backoff ends.
        attempts = Attempt.objects.filter(delivery__endpoint=endpoint).count()
        assert 3 <= attempts <= settings.WEBHOOK_ENDPOINT_MAX_IN_FLIGHT + BACKOFF_AFTER_TIMEOUTS - 1
        assert Delivery.objects.filter(endpoint=endpoint, attempt_count=0).count() == 20 - attempts
        assert deliveries_run(max_seconds=1) == 0  # backed off: nothing is claimed
    finally:
        trickler.stop()


def test_a_backed_off_endpoint_is_probed_one_attempt_at_a_time(workspace_a, receiver):
    endpoint = endpoint_create(workspace=workspace_a, url=receiver.url).endpoint
    emit(workspace_a, 5)
    app.control.purge()
    past = timezone.now() - timezone.timedelta(seconds=1)
    Endpoint.objects.filter(pk=endpoint.pk).update(timeouts_in_row=4, backoff_until=past)

    # The loop ends by itself once nothing is claimable: the window only matters when a
    # loaded machine is slow.
    deliveries_run(max_seconds=30)

    assert receiver.most_active["/hooks/leadhub"] == 1  # the probe, then one at a time ...
    endpoint.refresh_from_db()
    assert (endpoint.timeouts_in_row, endpoint.backoff_until) == (0, None)  # ... until it answered
    assert Delivery.objects.filter(status="succeeded").count() == 5


def test_claims_on_postgres_skip_rows_another_transaction_holds(workspace_a, receiver):
    endpoint_create(workspace=workspace_a, url=receiver.url)
    emit(workspace_a, 3)
    held = Delivery.objects.order_by("created_at").first()
    locked, release = threading.Event(), threading.Event()

    def hold():
        try:
            with transaction.atomic():
                Delivery.objects.select_for_update().get(pk=held.pk)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=copy_context().run, args=(hold,))  # in the test's scope
    holder.start()
    assert locked.wait(5)
    from webhooks.engine import deliveries_claim

    claimed = deliveries_claim(limit=10)
    release.set()
    holder.join()
    assert held.pk not in {delivery.pk for delivery in claimed}
    assert len(claimed) == 2
    assert all(isinstance(delivery.lease_token, uuid.UUID) for delivery in claimed)


def test_a_dispatch_stays_awake_for_the_next_commits_which_then_queue_no_task(workspace_a, receiver, settings):
    from django.core.cache import cache

    from webhooks.engine.run import DISPATCH_QUEUED_KEY

    settings.WEBHOOK_DISPATCH_COALESCE = True
    endpoint_create(workspace=workspace_a, url=receiver.url)
    cache.delete(DISPATCH_QUEUED_KEY)

    class Awake(Engine):
        def run(self) -> None:
            try:
                with operator_scope("webhook_engine"):  # as the delivery tasks
                    self.sent = deliveries_run(max_seconds=30, awake_seconds=1.0)
            finally:
                connection.close()

    engine = Awake()
    engine.start()
    deadline = time.monotonic() + 10
    while cache.get(DISPATCH_QUEUED_KEY) is None:  # awake, with nothing in flight: it holds the key
        assert time.monotonic() < deadline, "the loop never waited for commits"
        time.sleep(0.01)
    app.control.purge()
    emit(workspace_a, 3)
    assert app.control.purge() == 0  # their commits found the key held: no dispatch task queued ...
    receiver.wait_for(3, timeout=10)  # ... and the awake loop delivers them
    engine.join(30)
    assert engine.sent == 3
    assert cache.get(DISPATCH_QUEUED_KEY) is None  # let go when it ended: the next commit queues a task
    assert Delivery.objects.filter(status="succeeded").count() == 3
