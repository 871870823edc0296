"""The stats page (charts' data, funnel, speed to lead, webhook health) and the agency view."""

import datetime
import json

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import AgencyMembership, Role
from accounts.services import workspace_create
from crm.contacts.services import contact_update
from leadhub.postgresql import lookups
from messaging.models import Conversation, Message
from tests.crm.support import contact_make

from .conftest import failed_delivery, logged_in

pytestmark = pytest.mark.django_db


def reply_after(contact, minutes):
    """A conversation with the lead whose first reply came `minutes` after it arrived."""
    conversation = Conversation.objects.create(workspace_id=contact.workspace_id, contact=contact)
    Message.objects.create(
        workspace_id=contact.workspace_id, conversation=conversation, position=0, role="user", content="Hi"
    )
    Message.objects.create(
        workspace_id=contact.workspace_id,
        conversation=conversation,
        position=1,
        role="assistant",
        content="Hello!",
        created_at=contact.created_at + datetime.timedelta(minutes=minutes),
    )


def chart(response, name):
    """The chart's configuration as the page gives it to Chart.js (a json_script element)."""
    page = response.content.decode()
    marker = f'<script id="chart-{name.replace("_", "-")}" type="application/json">'
    start = page.index(marker) + len(marker)
    return json.loads(page[start : page.index("</script>", start)])


def test_stats_show_the_funnel_speed_to_lead_and_webhook_health(owner_client, workspace_a, endpoint_a, receiver):
    ada = contact_make(workspace_a, phone="+18187405001", name="Ada", source="website")  # qualified
    bob = contact_make(workspace_a, phone="+18187405002", source="website")
    contact_update(contact=bob, values={"status": "booked"})  # through crm, which keeps the counters
    contact_make(workspace_a, phone="+18187405003", source="facebook")
    reply_after(ada, 2)
    reply_after(bob, 4)
    failed_delivery(workspace_a, endpoint_a, receiver)

    response = owner_client.get(f"/w/{workspace_a.pk}/stats/", {"days": 7})
    assert response.status_code == 200
    assert chart(response, "funnel")["data"]["datasets"][0]["data"] == [3, 1, 1]
    by_source = chart(response, "by_source")["data"]
    assert dict(zip(by_source["labels"], by_source["datasets"][0]["data"], strict=True)) == {
        "website": 2,
        "facebook": 1,
    }
    per_day = chart(response, "per_day")["data"]
    assert len(per_day["labels"]) == 7 and sum(per_day["datasets"][0]["data"]) == 3
    assert response.context["speed"]["avg"] == datetime.timedelta(minutes=3)
    page = response.content.decode()
    assert "3 min" in page  # speed to lead
    # The one given up, and the five lead events (bob's booking is a lead.updated) still on their way.
    assert chart(response, "webhooks")["data"]["datasets"][0]["data"] == [0, 1, 5]
    assert 'data-chart="chart-funnel"' in page and 'id="chart-funnel"' in page
    assert "/static/vendor/chart.umd.min.js" in page


def test_stats_of_an_empty_workspace_say_there_is_nothing_yet(owner_client, workspace_a):
    response = owner_client.get(f"/w/{workspace_a.pk}/stats/")
    assert b"Nothing to chart yet" in response.content


@pytest.fixture
def agency_of_three(workspace_a, staff_a):
    others = [workspace_create(name=f"Client {n}", agency_name=workspace_a.agency.name) for n in range(2)]
    return [workspace_a, *others]


def test_the_agency_view_shows_every_client_side_by_side(agency_of_three, staff_a, workspace_a, endpoint_a, receiver):
    busy = agency_of_three[1]
    ada = contact_make(busy, phone="+18187405001", name="Ada", message_count=6)
    contact_make(busy, phone="+18187405002")
    reply_after(ada, 10)
    failed_delivery(workspace_a, endpoint_a, receiver)
    response = logged_in(staff_a).get("/agency/")
    assert response.status_code == 200
    rows = {row["workspace"].name: row for row in response.context["overview"]["rows"]}
    assert set(rows) == {"Acme Dental", "Client 0", "Client 1"}
    assert (rows["Client 0"]["new"], rows["Client 0"]["hot"]) == (2, 1)
    assert rows["Client 0"]["speed"] == datetime.timedelta(minutes=10)
    assert rows["Acme Dental"]["failed"] == 1
    page = response.content.decode()
    assert f'href="/w/{busy.pk}/leads/"' in page
    assert "10 min" in page


def test_the_agency_view_costs_one_query_per_column_not_per_workspace(
    workspace_a, staff_a, django_assert_max_num_queries
):
    client = logged_in(staff_a)
    for n in range(12):
        workspace = workspace_create(name=f"Client {n}", agency_name=workspace_a.agency.name)
        contact_make(workspace, phone=f"+1818740{5400 + n}")
    with django_assert_max_num_queries(9):
        response = client.get("/agency/")
    assert len(response.context["overview"]["rows"]) == 13


def test_the_agency_view_is_404_for_people_who_are_not_staff(owner_client):
    assert owner_client.get("/agency/").status_code == 404


def test_staff_of_two_agencies_choose_one(workspace_a, workspace_b, staff_a):
    other = workspace_create(name="Elsewhere", agency_name="Second Agency")
    AgencyMembership.objects.create(agency=other.agency, user=staff_a, role=Role.ADMIN)
    client = logged_in(staff_a)
    response = client.get("/agency/", {"agency": str(other.agency.pk)})
    assert [row["workspace"].name for row in response.context["overview"]["rows"]] == ["Elsewhere"]
    assert "Bright Agency" in response.content.decode()  # the other choice


@pytest.mark.postgres
def test_the_agency_counts_leads_from_a_covering_index(agency_of_three, staff_a):
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'contact_workspace_window'")
        (definition,) = cursor.fetchone()
    assert "(workspace_id, created_at) INCLUDE (message_count)" in definition
    assert logged_in(staff_a).get("/agency/").status_code == 200
    # On PostgreSQL the named lookup counts them (leadhub/postgresql/lookups.py), from only
    # columns of the index: PostgreSQL can count from it without reading the contacts.
    assert "c.id" not in lookups.AGENCY_LEADS
    count = "WITH ws AS (SELECT unnest(%s::uuid[]) AS id) " + lookups.AGENCY_LEADS.replace("$3", "%s").replace(
        "$5", "10"
    )
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute("EXPLAIN " + count, [[w.pk for w in agency_of_three], timezone.now()])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "contact_workspace_window" in plan, plan
