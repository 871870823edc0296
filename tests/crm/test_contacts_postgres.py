"""POST /api/v1/contacts under real concurrency (PostgreSQL): one person, one contact."""

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from crm.models import Contact
from webhooks.models import Event

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_concurrent_creates_of_one_person_make_one_contact_and_409s(workspace_a, make_key):
    key = make_key(workspace_a, scopes=["contacts:write"])
    count = 12
    barrier, answers = threading.Barrier(count), []

    def send(n):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        barrier.wait()
        try:
            response = client.post(
                "/api/v1/contacts", {"phone_number": "(818) 740 5020", "name": f"Ada {n}"}, format="json"
            )
            answers.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(status for status, _ in answers) == [201] + [409] * (count - 1)
    contact = Contact.objects.get(workspace=workspace_a)
    assert {body["error"]["details"]["id"] for status, body in answers if status == 409} == {str(contact.id)}
    assert Event.objects.filter(type="lead.created").count() == 1
