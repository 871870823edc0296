"""The turns of a conversation on PostgreSQL (messaging/turns.py) when things go wrong: a live turn
overtaken after its lease ran out stores nothing more; a turn renews its lease as the model's
wait ends too; a statement on a connection whose backend died runs once more on a new one; a
waiter whose polls find no connection (the pool exhausted) keeps its place; the lease and the
claim window outlast a wait for a pooled connection."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from leadhub import pool, tenancy
from messaging import turns
from messaging.models import Conversation
from messaging.transcript import conversation_turn
from tests.conftest import login_connection
from tests.polling import until

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def conversation(workspace_a):
    return Conversation.objects.create(workspace=workspace_a, channel=Conversation.Channel.SMS)


def _in_thread(conversation, body, errors: list | None = None) -> threading.Thread:
    def run():
        try:
            with tenancy.tenant_scope(conversation.workspace_id):
                body()
        except Exception as exc:
            if errors is None:
                raise
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _counters(conversation) -> tuple[int, int]:
    conversation.refresh_from_db(fields=["turn_next", "turn_serving"])
    return conversation.turn_next, conversation.turn_serving


def test_the_lease_and_the_claim_window_outlast_a_wait_for_a_pooled_connection(monkeypatch, settings):
    options = connection.settings_dict["OPTIONS"].get("pool")
    assert pool.connection_wait_seconds() == (options["timeout"] if isinstance(options, dict) else 0)
    monkeypatch.setattr(turns, "connection_wait_seconds", lambda: 10.0)
    # The model's deadline, then a wait for a connection, then the reply's steps.
    assert turns.lease_seconds() >= settings.AI_TIMEOUT_SECONDS + 10 + 5
    # A waiter may spend the pool's timeout in one poll, and sleeps between polls.
    assert turns.claim_seconds() > 10 + max(turns.SLEEPS)


def test_a_turn_overtaken_after_its_lease_ran_out_keeps_nothing(conversation):
    inside, overtaken, kept = threading.Event(), threading.Event(), []

    def holder():
        with conversation_turn(conversation):
            with transaction.atomic():
                turns.turn_keep(conversation.pk)  # still its own: renewed
            inside.set()
            assert overtaken.wait(10)
            with transaction.atomic():
                try:
                    turns.turn_keep(conversation.pk)
                    kept.append(True)
                except turns.TurnLost:
                    kept.append(False)

    def next_turn():
        with conversation_turn(conversation):
            pass

    first = _in_thread(conversation, holder)
    assert inside.wait(10)
    with tenancy.tenant_scope(conversation.workspace_id):  # a stall past its lease
        Conversation.objects.filter(pk=conversation.pk).update(turn_lease_until=timezone.now() - timedelta(seconds=1))
    _in_thread(conversation, next_turn).join(10)
    with tenancy.tenant_scope(conversation.workspace_id):
        assert _counters(conversation) == (2, 2)  # the holder skipped, the next turn served and ended
    overtaken.set()
    first.join(10)
    assert kept == [False]
    with tenancy.tenant_scope(conversation.workspace_id):
        assert _counters(conversation) == (2, 2)  # its late end changed nothing


def test_a_turn_renews_its_lease_as_the_model_wait_ends(conversation, monkeypatch):
    monkeypatch.setattr(turns, "lease_seconds", lambda: 0.6)
    order, holding, kept = [], threading.Event(), []

    def slow_turn():
        with conversation_turn(conversation):
            holding.set()
            with pool.connection_idle():  # the model: renewed before it and after it
                time.sleep(0.45)
            time.sleep(0.45)  # a wait for a connection, the reply's steps: past the first renewal's lease
            with transaction.atomic():
                turns.turn_keep(conversation.pk)
                kept.append(True)
            order.append("slow")

    def next_turn():
        with conversation_turn(conversation):
            order.append("next")

    slow = _in_thread(conversation, slow_turn)
    assert holding.wait(10)
    following = _in_thread(conversation, next_turn)
    slow.join(10)
    following.join(10)
    assert kept == [True]
    assert order == ["slow", "next"]


def _backend_end(pid: int) -> None:
    with login_connection(autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])


def test_a_turn_whose_backend_died_still_ends_and_polls_on(conversation):
    def body():
        with conversation_turn(conversation):
            Conversation.objects.filter(pk=conversation.pk).exists()
            _backend_end(connection.connection.info.backend_pid)
        # Ended on a new connection: the next turn needn't wait for the lease.
        assert _counters(conversation) == (1, 1)
        Conversation.objects.filter(pk=conversation.pk).exists()
        _backend_end(connection.connection.info.backend_pid)
        (serving, expired), _ = turns._run_again("served", [conversation.pk])
        assert (serving, expired) == (1, False)

    errors = []
    _in_thread(conversation, body, errors).join(10)
    assert errors == []


def test_a_waiter_whose_polls_find_no_connection_keeps_its_place(conversation, monkeypatch):
    run, exhausted, failed = turns._run, threading.Event(), []

    def pool_exhausted(name, params):
        if name == "poll" and exhausted.is_set():
            failed.append(name)
            raise OperationalError("couldn't get a connection after 10.00 sec")
        return run(name, params)

    monkeypatch.setattr(turns, "_run", pool_exhausted)
    order, release, errors = [], threading.Event(), []

    def holder():
        with conversation_turn(conversation):
            order.append("holder")
            assert release.wait(10)

    def waiter():
        with conversation_turn(conversation):
            order.append("waiter")

    exhausted.set()
    first = _in_thread(conversation, holder, errors)
    assert until(lambda: order == ["holder"])
    second = _in_thread(conversation, waiter, errors)
    assert until(lambda: len(failed) >= 3)
    exhausted.clear()
    release.set()
    first.join(10)
    second.join(10)
    assert errors == []
    assert order == ["holder", "waiter"]
    with tenancy.tenant_scope(conversation.workspace_id):
        assert _counters(conversation) == (2, 2)  # one ticket each: the waiter did not draw again


def test_a_waiter_gives_up_when_no_connection_comes_for_a_lease(conversation, monkeypatch):
    run = turns._run

    def down(name, params):
        if name == "poll":
            raise OperationalError("couldn't get a connection after 10.00 sec")
        return run(name, params)

    monkeypatch.setattr(turns, "_run", down)
    monkeypatch.setattr(turns, "lease_seconds", lambda: 0.3)
    release, errors = threading.Event(), []

    def holder():
        with conversation_turn(conversation):
            assert release.wait(10)

    def waiter():
        with conversation_turn(conversation):
            pass

    first = _in_thread(conversation, holder, errors)
    assert until(lambda: _counters_seen(conversation) == (1, 0))
    started = time.monotonic()
    _in_thread(conversation, waiter, errors).join(10)
    assert 0.3 <= time.monotonic() - started < 5
    release.set()
    first.join(10)
    assert [type(error) for error in errors] == [OperationalError]


def _counters_seen(conversation) -> tuple[int, int]:
    with tenancy.tenant_scope(conversation.workspace_id):
        return _counters(conversation)
