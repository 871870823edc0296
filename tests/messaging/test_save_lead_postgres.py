"""/api/save-lead under real concurrency (PostgreSQL): one session, one conversation, one lead."""

import threading

import pytest
from django.db import connection
from django.test import Client

from crm.models import Contact
from messaging.brains.services import brain_create
from messaging.models import Conversation, Message

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_concurrent_posts_of_one_session_make_one_conversation_without_duplicates(workspace_a):
    bot_id = brain_create(workspace=workspace_a, name="Bot").bot_id
    transcript = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    count = 12
    barrier, statuses = threading.Barrier(count), []

    def send():
        client = Client()
        barrier.wait()
        try:
            response = client.post(
                "/api/save-lead",
                {"bot_id": bot_id, "session_id": "s1", "lead_phone": "8187405020", "messages": transcript},
                content_type="application/json",
            )
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] * (count - 1) + [201]
    assert Conversation.objects.filter(workspace=workspace_a).count() == 1
    assert Message.objects.count() == 2
    assert Contact.objects.filter(workspace=workspace_a).count() == 1
