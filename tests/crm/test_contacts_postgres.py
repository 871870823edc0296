"""POST /api/v1/contacts under real concurrency (PostgreSQL): one person, one contact."""

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from crm.models import Contact, DailyLeadCount
from tests.conftest import login_connection
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


def test_a_new_lead_does_not_wait_for_the_day_counters_other_leads_hold(workspace_a, make_key):
    """Every new lead adds to its day's counters in its own transaction. Leads arriving together
    must not queue on one counter row's lock until the other commits (what made the intake's
    p99 hundreds of milliseconds): a lead takes a counter row no one holds, or a row of its own."""
    key = make_key(workspace_a, scopes=["intake"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert client.post("/api/v1/webhook/forms", {"phone_number": "+18187405020"}, format="json").status_code == 201
    # Another transaction holds every counter row of the day, as concurrent leads would.
    with login_connection() as holder:
        holder.execute(
            "INSERT INTO crm_dailyleadcount (workspace_id, day, source, shard, leads, hot, qualified, booked) "
            "SELECT workspace_id, day, source, s, 0, 0, 0, 0 FROM crm_dailyleadcount, generate_series(0, %s) AS s "
            "WHERE workspace_id = %s ON CONFLICT DO NOTHING",
            [DailyLeadCount.SHARDS - 1, workspace_a.pk],
        )
        holder.commit()
        held = holder.execute(
            "SELECT shard FROM crm_dailyleadcount WHERE workspace_id = %s FOR UPDATE", [workspace_a.pk]
        ).fetchall()
        assert len(held) >= DailyLeadCount.SHARDS
        with connection.cursor() as cursor:
            # A wait for the holder would fail the request instead of hanging the test.
            cursor.execute("SET lock_timeout = '5s'")
        try:
            response = client.post("/api/v1/webhook/forms", {"phone_number": "+18187405021"}, format="json")
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET lock_timeout")
        assert response.status_code == 201
        holder.rollback()
    assert sum(DailyLeadCount.objects.filter(workspace=workspace_a).values_list("leads", flat=True)) == 2
    assert Contact.objects.filter(workspace=workspace_a).count() == 2
