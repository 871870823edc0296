"""The turns of a conversation on PostgreSQL (messaging/turns.py), under real concurrency: a ticket
lock on the conversation's row serves turns one at a time in arrival order, holds no connection
while a turn waits or the model answers, and skips a turn whose process died once its lease has
run out (a live turn renews its lease before the model is called)."""

import threading
import time

import pytest
from django.db import connection

from leadhub import pool, tenancy
from messaging import turns
from messaging.models import Conversation
from messaging.transcript import conversation_turn, conversation_turn_wait
from tests.polling import until

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def conversation(workspace_a):
    return Conversation.objects.create(workspace=workspace_a, channel=Conversation.Channel.SMS)


def _in_thread(conversation, body) -> threading.Thread:
    """`body` in a thread of its own (its own connection), in the conversation's workspace."""

    def run():
        try:
            with tenancy.tenant_scope(conversation.workspace_id):
                body()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _ended(conversation) -> bool:
    conversation.refresh_from_db(fields=["turn_next", "turn_serving"])
    return conversation.turn_next == conversation.turn_serving


def test_turns_run_one_at_a_time_in_arrival_order(conversation):
    order, inside, most_inside = [], [0], [0]
    guard, release = threading.Lock(), threading.Event()

    def turn(name, hold=None):
        def body():
            with conversation_turn(conversation):
                with guard:
                    inside[0] += 1
                    most_inside[0] = max(most_inside[0], inside[0])
                    order.append(name)
                if hold is not None:
                    assert hold.wait(10)
                time.sleep(0.01)  # long enough for a second turn inside to be seen
                with guard:
                    inside[0] -= 1

        return _in_thread(conversation, body)

    threads = [turn("holder", release)]
    assert until(lambda: order == ["holder"])
    for n in range(6):  # each arrives once the one before waits
        threads.append(turn(n))
        assert until(lambda n=n: turns.turn_waiters(conversation.pk) == n + 1)
    release.set()
    for thread in threads:
        thread.join(20)
    assert order == ["holder", 0, 1, 2, 3, 4, 5]
    assert most_inside[0] == 1
    assert _ended(conversation)


def _dies_in_its_turn(conversation, lease: float) -> None:
    """What a turn whose process died leaves: its ticket drawn and served, its lease running."""
    with tenancy.tenant_scope(conversation.workspace_id):
        (ticket, serving), _ = turns._run("draw", [lease, conversation.pk])
    assert ticket == serving


def test_a_turn_whose_process_died_is_skipped_once_its_lease_ran_out(conversation):
    _dies_in_its_turn(conversation, lease=0.6)
    got = []

    def next_turn():
        started = time.monotonic()
        with conversation_turn(conversation):
            got.append(time.monotonic() - started)

    _in_thread(conversation, next_turn).join(10)
    assert got and 0.3 < got[0] < 5  # it waited for the lease, not for ever
    assert _ended(conversation)
    # A redelivery waits past a dead turn too.
    _dies_in_its_turn(conversation, lease=0.6)
    with tenancy.tenant_scope(conversation.workspace_id):
        assert conversation_turn_wait(conversation.pk, seconds=0.1) is False
        assert conversation_turn_wait(conversation.pk, seconds=5) is True
    assert _ended(conversation)


def test_a_live_turn_renews_its_lease_before_the_model_and_is_not_skipped(conversation, monkeypatch):
    monkeypatch.setattr(turns, "lease_seconds", lambda: 0.5)
    order = []
    holding = threading.Event()

    def slow_turn():
        with conversation_turn(conversation):
            holding.set()
            time.sleep(0.3)
            with pool.connection_idle():  # the model's call: the lease renewed first
                time.sleep(0.4)  # past the first lease
            order.append("slow")

    def next_turn():
        with conversation_turn(conversation):
            order.append("next")

    slow = _in_thread(conversation, slow_turn)
    assert holding.wait(10)
    following = _in_thread(conversation, next_turn)
    slow.join(10)
    following.join(10)
    assert order == ["slow", "next"]


def test_a_turn_waiting_on_the_model_holds_no_pooled_connection(conversation):
    with tenancy.tenant_scope(conversation.workspace_id), conversation_turn(conversation):
        Conversation.objects.filter(pk=conversation.pk).exists()
        assert connection.connection is not None
        with pool.connection_idle():
            assert (connection.connection is None) is pool.pooled()
    assert _ended(conversation)
