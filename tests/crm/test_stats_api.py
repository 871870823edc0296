"""GET /api/v1/stats: lead, conversation and delivery figures over a range of days."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from crm.contacts.services import contact_delete, contact_update
from crm.models import Contact
from messaging.brains.services import brain_create
from messaging.widget.services import widget_capture
from webhooks.models import Delivery

from .support import contact_make, error_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def made_at(monkeypatch):
    """contact_make, as if the lead arrived at `when` (the writer counts it on that day)."""

    def make(when, workspace, **kwargs):
        monkeypatch.setattr(Contact._meta.get_field("created_at"), "_get_default", lambda: when)
        try:
            return contact_make(workspace, **kwargs)
        finally:
            monkeypatch.undo()

    return make


def test_stats_count_leads_by_day_source_and_stage(api_a, workspace_a, workspace_b, made_at):
    day = datetime.datetime(2026, 11, 2, 12, tzinfo=datetime.UTC)
    made_at(day, workspace_a, email="a@example.com", name="A", source="widget", message_count=6)
    b = made_at(day, workspace_a, email="b@example.com", source="intake")
    made_at(day + datetime.timedelta(days=2), workspace_a, email="c@example.com", source="intake")
    made_at(day - datetime.timedelta(days=100), workspace_a, email="old@example.com")
    made_at(day, workspace_b, email="b-only@example.com")
    contact_update(contact=b, values={"status": "booked"})

    response = api_a.get("/api/v1/stats", {"from": "2026-11-01", "to": "2026-11-04"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["range"] == {"from": "2026-11-01", "to": "2026-11-04"}
    assert body["leads"] == {"total": 4, "in_range": 3}
    assert body["new_per_day"] == [
        {"date": "2026-11-01", "count": 0},
        {"date": "2026-11-02", "count": 2},
        {"date": "2026-11-03", "count": 0},
        {"date": "2026-11-04", "count": 1},
    ]
    assert body["by_source"] == [{"source": "intake", "count": 2}, {"source": "widget", "count": 1}]
    assert body["hot"] == 1
    assert body["qualified"] == 1  # A has a name and an e-mail
    assert body["booked"] == 1
    assert body["conversion_rate"] == pytest.approx(1 / 3, abs=1e-4)


def test_stats_count_conversations_messages_and_deliveries(api_a, workspace_a):
    brain = brain_create(workspace=workspace_a, name="Bot")
    widget_capture(
        brain=brain,
        session_id="s1",
        messages=[{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}],
    )
    body = api_a.get("/api/v1/stats").json()
    assert body["conversations"] == 1
    assert body["messages"] == 2
    assert body["webhook_deliveries"] == {"succeeded": 0, "failed": 0, "pending": 0}
    assert len(body["new_per_day"]) == 30
    assert body["new_per_day"][-1]["date"] == timezone.now().date().isoformat()


def test_stats_queries_do_not_grow_with_the_data(api_a, workspace_a, django_assert_max_num_queries):
    for n in range(30):
        contact_make(workspace_a, email=f"c{n}@example.com", source=f"s{n % 3}")
    with django_assert_max_num_queries(8):
        assert api_a.get("/api/v1/stats").status_code == 200


@pytest.mark.parametrize(
    "params, field",
    [
        ({"from": "yesterday"}, "from"),
        ({"to": "2026-13-01"}, "to"),
        ({"from": "2026-11-05", "to": "2026-11-01"}, "from"),
        ({"from": "2020-01-01", "to": "2026-01-01"}, "to"),
        ({"to": "9999-12-31"}, "to"),
    ],
)
def test_a_bad_range_is_400_naming_the_field(api_a, params, field):
    error = error_of(api_a.get("/api/v1/stats", params), 400, "VALIDATION_ERROR")
    assert field in error["details"]


def test_stats_need_stats_read(workspace_a, make_key, client_for):
    client = client_for(make_key(workspace_a, scopes=["contacts:read"]))
    error_of(client.get("/api/v1/stats"), 403, "FORBIDDEN")


def test_stats_never_count_another_workspace(api_b, workspace_a):
    contact_make(workspace_a, email="a@example.com")
    body = api_b.get("/api/v1/stats").json()
    assert body["leads"] == {"total": 0, "in_range": 0}
    assert Delivery.objects.count() == 0


def _figures(api):
    body = api.get("/api/v1/stats").json()
    return body["leads"], body["by_source"], body["hot"], body["qualified"], body["booked"]


def test_the_counters_follow_every_change_of_a_lead(api_a, workspace_a):
    ada = contact_make(workspace_a, phone="8187405020", source="intake")
    assert _figures(api_a) == ({"total": 1, "in_range": 1}, [{"source": "intake", "count": 1}], 0, 0, 0)
    contact_update(contact=ada, values={"name": "Ada", "status": "booked", "source": "widget"})
    assert _figures(api_a) == ({"total": 1, "in_range": 1}, [{"source": "widget", "count": 1}], 0, 1, 1)
    contact_update(contact=ada, values={"message_count": 7, "status": "lost"})
    assert _figures(api_a) == ({"total": 1, "in_range": 1}, [{"source": "widget", "count": 1}], 1, 1, 0)
    contact_delete(contact=ada)
    assert _figures(api_a) == ({"total": 0, "in_range": 0}, [], 0, 0, 0)


def test_a_lead_made_hot_by_its_messages_is_counted_hot(api_a, workspace_a):
    """Conversations raise message_count through contact_count_messages: the fifth message makes
    the lead hot in the day's counters too, once."""
    from crm.contacts.services import contact_count_messages

    ada = contact_make(workspace_a, phone="8187405020", source="widget")
    contact_count_messages(contact=ada, count=4)
    assert _figures(api_a)[2] == 0
    contact_count_messages(contact=ada)
    assert _figures(api_a)[2] == 1
    contact_count_messages(contact=ada, count=3)
    assert _figures(api_a)[2] == 1
    assert Contact.objects.get(pk=ada.pk).message_count == 8


def test_a_lead_made_hot_by_a_campaign_s_messages_is_counted_hot(api_a, api_b, workspace_a, workspace_b):
    """A campaign counts its chunk's messages with contacts_count_messages: the contacts it makes
    hot count hot on their day, once, whatever their workspace; those hot already, or still
    short of 5, do not."""
    from crm.contacts.bulk import contacts_count_messages
    from crm.contacts.services import contact_count_messages

    ada = contact_make(workspace_a, phone="8187405020", source="widget")
    bo = contact_make(workspace_a, phone="8187405021", source="intake")
    cy = contact_make(workspace_a, phone="8187405022", message_count=7)
    di = contact_make(workspace_b, phone="8187405020")
    for contact in (ada, bo, di):
        contact_count_messages(contact=contact, count=4 if contact is not bo else 1)
    assert (_figures(api_a)[2], _figures(api_b)[2]) == (1, 0)
    assert contacts_count_messages(contact_ids=[ada.pk, bo.pk, cy.pk, di.pk, ada.pk]) == 4
    assert (_figures(api_a)[2], _figures(api_b)[2]) == (2, 1)
    contacts_count_messages(contact_ids=[ada.pk, bo.pk, di.pk], count=2)
    assert (_figures(api_a)[2], _figures(api_b)[2]) == (2, 1)
    assert {c.pk: c.message_count for c in Contact.objects.all()} == {ada.pk: 7, bo.pk: 4, cy.pk: 8, di.pk: 7}


def test_intake_leads_are_counted_as_they_arrive(client, api_a, workspace_a, make_key):
    key = make_key(workspace_a, scopes=["intake"])
    for phone in ("8187405020", "8187405021", "8187405020"):
        client.post(
            "/api/v1/webhook/forms",
            {"api_token": key, "phone_number": phone, "name": "Lead", "source": "form"},
            content_type="application/json",
        )
    assert _figures(api_a) == ({"total": 2, "in_range": 2}, [{"source": "form", "count": 2}], 0, 2, 0)


def test_stats_never_read_the_contacts_table(api_a, workspace_a):
    contact_make(workspace_a, phone="8187405020")
    with CaptureQueriesContext(connection) as queries:
        assert api_a.get("/api/v1/stats").status_code == 200
    assert not [query["sql"] for query in queries if "crm_contact" in query["sql"]]
