"""The intake's new lead on PostgreSQL, outside a transaction (as a web request runs it): the
contact, its timeline, its daily count, its events and their deliveries are one statement
that commits on its own; every other outcome takes the writer's transaction."""

import pytest
from django.db import connection
from django.test import Client

from crm.contacts.writer import ContactWrite
from crm.models import Contact, DailyLeadCount, Tag, TimelineEntry
from crm.normalize import parse_phone
from leadhub.tenancy import tenant_scope
from webhooks.models import Delivery, Event
from webhooks.services import endpoint_create
from webhooks.tasks import deliveries_sweep

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
URL = "/api/v1/webhook/forms"


class Statements:
    """The statements the app runs, each with whether it ran inside a transaction of Django's."""

    def __init__(self):
        self.seen: list[tuple[str, bool]] = []

    def __call__(self, execute, sql, params, many, context):
        self.seen.append((sql, connection.in_atomic_block or not connection.get_autocommit()))
        return execute(sql, params, many, context)

    def writes(self) -> list[tuple[str, bool]]:
        """The writes of the lead (the credential's own bookkeeping apart)."""
        return [
            (sql, in_transaction)
            for sql, in_transaction in self.seen
            if ("INSERT" in sql or "UPDATE" in sql) and ("crm_" in sql or "webhooks_" in sql)
        ]


def intake(key, **fields):
    statements = Statements()
    with connection.execute_wrapper(statements):
        response = Client().post(URL, {"api_token": key, **fields}, content_type="application/json")
    return response, statements


def test_a_new_lead_is_one_statement_committed_with_its_timeline_count_events_and_deliveries(
    workspace_a, owner_a, make_key, receiver
):
    key = make_key(workspace_a, scopes=["intake"])
    endpoint_a = endpoint_create(workspace=workspace_a, url=receiver.url).endpoint
    response, statements = intake(
        key, phone_number="(818) 740 5020", email="ada@example.com", name="Ada", user_id=owner_a.pk
    )
    assert response.status_code == 201
    ((sql, in_transaction),) = statements.writes()
    assert "crm_contact" in sql and "webhooks_event" in sql and "webhooks_delivery" in sql
    assert not in_transaction
    contact = Contact.objects.get(workspace=workspace_a)
    assert str(contact.id) == response.json()["contact_id"]
    assert (contact.owner_id, contact.status, contact.qualified_at is not None) == (owner_a.pk, "qualified", True)
    kinds = sorted(TimelineEntry.objects.filter(contact=contact).values_list("kind", flat=True))
    assert kinds == ["created", "owner", "status"]
    (count,) = DailyLeadCount.objects.filter(workspace=workspace_a, leads__gt=0)
    assert (count.leads, count.qualified) == (1, 1)
    events = {event.type: event for event in Event.objects.filter(workspace=workspace_a)}
    assert sorted(events) == ["lead.created", "lead.qualified"]
    assert events["lead.created"].data["owner_id"] == owner_a.pk
    assert events["lead.created"].data["id"] == str(contact.id)
    assert Delivery.objects.filter(endpoint=endpoint_a).count() == 2
    while deliveries_sweep():
        pass
    receiver.wait_for(2)
    assert len(receiver.received) == 2


def test_an_existing_person_and_a_lead_with_an_action_take_the_transaction(workspace_a, make_key):
    key = make_key(workspace_a, scopes=["intake"])
    with tenant_scope(workspace_a.pk):
        tag = Tag.objects.create(workspace=workspace_a, name="vip")
    first, _ = intake(key, phone_number="8187405020")
    again, statements = intake(key, phone_number="8187405020")
    assert (first.status_code, again.status_code) == (201, 202)
    (insert, *rest) = statements.writes()
    assert "crm_contact" in insert[0] and not insert[1]  # tried alone, found the contact
    assert rest and all(in_transaction for _, in_transaction in rest)  # its timeline entry
    tagged, statements = intake(key, phone_number="8187405021", name="Bo", tag_id=tag.pk)
    assert tagged.status_code == 201
    assert all(in_transaction for _, in_transaction in statements.writes())
    contact = Contact.objects.get(phone_number="+18187405021")
    (created,) = Event.objects.filter(type="lead.created", data__id=str(contact.id))
    assert created.data["tags"] == ["vip"]


def test_a_phone_with_the_email_of_a_phoneless_contact_joins_it(workspace_a, make_key):
    key = make_key(workspace_a, scopes=["intake"])
    with tenant_scope(workspace_a.pk), ContactWrite(workspace=workspace_a, source="api") as write:
        write.upsert(phone=None, email="ada@example.com", values={"name": "Ada"}, update_existing=False)
    response, _ = intake(key, email="ada@example.com", phone_number="8187405020", force_update=True)
    assert response.status_code == 200
    contact = Contact.objects.get(workspace=workspace_a)
    assert contact.phone_number == "+18187405020"
    assert Event.objects.filter(type="lead.created").count() == 1
    assert sum(DailyLeadCount.objects.filter(workspace=workspace_a).values_list("leads", flat=True)) == 1


def test_nothing_may_follow_a_write_done_alone(workspace_a):
    with tenant_scope(workspace_a.pk), ContactWrite(workspace=workspace_a, source="api", alone=True) as write:
        result = write.upsert(
            phone=parse_phone("8187405020", default_region="US"), email=None, values={}, update_existing=False
        )
        assert result.created
        with pytest.raises(RuntimeError):
            write.update({"city": "London"})
    assert Contact.objects.filter(workspace=workspace_a).count() == 1
