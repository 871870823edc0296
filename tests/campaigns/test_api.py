"""The campaigns API: create (validation by index, templates, Idempotency-Key), list, retrieve
with counts, recipients, cancel; plan, scopes and tenancy."""

import threading

import pytest
from django.db import connection

from crm.contacts.fields import contact_payload
from crm.models import Contact, TimelineEntry
from messaging.campaigns.models import Campaign, Recipient
from webhooks.models import Endpoint, Event

from .conftest import SEND_NUMBER, campaign_body

URL = "/api/v1/campaigns"


def test_create_schedules_the_campaign_with_a_row_per_recipient(api, enterprise_a):
    response = api.post(URL, campaign_body(name="Dec 1 reminders"), format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "scheduled"
    assert body["name"] == "Dec 1 reminders"
    assert body["channel"] == "sms"
    assert body["schedule_at"] == "2026-12-01T15:00:00Z"
    assert body["from_number"] == SEND_NUMBER
    assert body["recipient_count"] == 2
    assert body["counts"] == {"queued": 2, "sent": 0, "delivered": 0, "failed": 0, "skipped": 0}
    assert body["quiet_hours"] == {"start": "21:00", "end": "08:00"}
    assert body["missing_variables"] == {}
    assert body["webhook_secret"] is None
    recipients = list(Recipient.objects.filter(campaign_id=body["id"]).order_by("index"))
    assert [(r.index, r.phone, r.status) for r in recipients] == [
        (0, "+18187405020", "queued"),
        (1, "+442071838750", "queued"),
    ]
    assert recipients[0].context == {"first_name": "Ada", "time": "10:30"}
    # Contacts were made for the new numbers, with the lead.created event of every new lead.
    contacts = Contact.objects.filter(workspace=enterprise_a).order_by("phone_number")
    assert [c.phone_number for c in contacts] == ["+18187405020", "+442071838750"]
    assert recipients[0].contact.phone_number == "+18187405020"
    assert recipients[0].time_zones == ["America/Los_Angeles"]
    assert recipients[1].time_zones == ["Europe/London"]
    assert Event.objects.filter(workspace=enterprise_a, type="lead.created").count() == 2
    assert TimelineEntry.objects.filter(contact__workspace=enterprise_a, kind="created").count() == 2


def test_new_contacts_lead_created_events_carry_the_stored_contact(api, enterprise_a):
    # The bulk path builds the new contacts in memory from what it inserted: their events must
    # say what a read of the stored rows says, field for field.
    response = api.post(URL, campaign_body(), format="json")

    assert response.status_code == 201
    events = {e.data["phone_number"]: e.data for e in Event.objects.filter(type="lead.created")}
    assert sorted(events) == ["+18187405020", "+442071838750"]
    for contact in Contact.objects.filter(workspace=enterprise_a):
        assert events[contact.phone_number] == contact_payload(contact, tags=[])
    ada = Contact.objects.get(workspace=enterprise_a, phone_number="+18187405020")
    assert (ada.source, ada.state, ada.country, ada.timezone) == ("campaign", "California", "US", "America/Los_Angeles")


def test_existing_contacts_are_reused_and_their_zone_wins(api, enterprise_a):
    existing = Contact.objects.create(
        workspace=enterprise_a, phone_number="+18187405020", first_name="Ada", timezone="America/New_York"
    )
    response = api.post(URL, campaign_body(message_template="Hi {{ first_name }}"), format="json")

    assert response.status_code == 201
    recipient = Recipient.objects.get(campaign_id=response.json()["id"], index=0)
    assert recipient.contact_id == existing.pk
    assert recipient.time_zones == ["America/New_York"]
    assert Contact.objects.filter(workspace=enterprise_a).count() == 2
    assert Event.objects.filter(type="lead.created").count() == 1  # only the new one


def test_bad_recipients_are_named_by_index(api):
    recipients = [{"phone": "+18187405020"} for _ in range(1)]
    recipients += [{"phone": f"+1818740{5021 + i}"} for i in range(16)]
    recipients.append({"phone": "not a phone"})  # 17
    recipients.append({"phone": "+18187405020"})  # 18: the same as 0
    recipients.append({"phone": "+18187405099", "context": "x"})  # 19
    recipients.append({"phone": "+18187405098", "colour": "red"})  # 20
    recipients.append("+18187405097")  # 21
    recipients.append({"context": {}})  # 22

    response = api.post(URL, campaign_body(recipients=recipients), format="json")

    assert response.status_code == 400
    details = response.json()["error"]["details"]
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert set(details) == {
        "recipients.17.phone",
        "recipients.18.phone",
        "recipients.19.context",
        "recipients.20.colour",
        "recipients.21",
        "recipients.22.phone",
    }
    assert details["recipients.18.phone"] == ["The same number as recipients.0."]
    assert not Campaign.objects.exists() and not Contact.objects.exists()


def test_many_bad_recipients_are_counted_and_the_first_hundred_named(api):
    response = api.post(URL, campaign_body(recipients=[{"phone": "nope"}] * 150), format="json")

    assert response.status_code == 400
    details = response.json()["error"]["details"]
    assert details["recipients"] == ["150 recipients are invalid; the first 100 are named."]
    assert "recipients.99.phone" in details and "recipients.100.phone" not in details


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"channel": "fax"}, "channel"),
        ({"schedule_at": "tomorrow"}, "schedule_at"),
        ({"message_template": "Hi {% if %}"}, "message_template"),
        ({"message_template": "{% debug %}"}, "message_template"),
        ({"message_template": "{% load i18n %}"}, "message_template"),
        ({"message_template": "x" * 1601}, "message_template"),
        ({"recipients": []}, "recipients"),
        ({"recipients": "everyone"}, "recipients"),
        ({"from_number": "+13105550100"}, "from_number"),
        ({"quiet_hours": {"start": "9pm", "end": "08:00"}}, "quiet_hours"),
        ({"opt_out_digit": "x"}, "opt_out_digit"),
        ({"webhook_url": "http://example.com/hook"}, "webhook_url"),
        ({"surprise": True}, "surprise"),
    ],
)
def test_invalid_fields_answer_400_naming_them(api, change, field):
    response = api.post(URL, campaign_body(**change), format="json")

    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["details"]
    assert not Campaign.objects.exists()


def test_a_template_that_does_not_compile_says_why(api):
    response = api.post(URL, campaign_body(message_template="Hi {{ name|nosuchfilter }}"), format="json")

    assert response.status_code == 400
    [message] = response.json()["error"]["details"]["message_template"]
    assert message.startswith("The template does not compile: Invalid filter: 'nosuchfilter'")


def test_channel_choice_error_lists_the_choices(api):
    response = api.post(URL, campaign_body(channel="fax"), format="json")

    [message] = response.json()["error"]["details"]["channel"]
    assert "sms" in message and "whatsapp" in message and "voice" in message


def test_missing_variables_are_counted_per_variable(api, enterprise_a):
    Contact.objects.create(workspace=enterprise_a, phone_number="+442071838750", first_name="Alan")
    body = campaign_body(
        message_template="Hi {{ first_name }}, {{ time }} with {{ doctor }}. {{ clinic|default:'us' }}",
        recipients=[
            {"phone": "+18187405020", "context": {"time": "10:30"}},  # no first_name, no doctor
            {"phone": "+442071838750", "context": {"doctor": "Dr Who"}},  # first_name from the contact
        ],
    )
    response = api.post(URL, body, format="json")

    assert response.status_code == 201
    assert response.json()["missing_variables"] == {"first_name": 1, "doctor": 1, "time": 1}


def test_webhook_url_gets_an_endpoint_filtered_to_the_campaign(api, enterprise_a, settings):
    settings.WEBHOOK_ALLOW_HTTP = True
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    response = api.post(URL, campaign_body(webhook_url="http://127.0.0.1:9/hook"), format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["webhook_secret"].startswith("whsec_")
    endpoint = Endpoint.objects.get(pk=body["webhook_endpoint_id"])
    assert endpoint.workspace_id == enterprise_a.pk
    assert endpoint.event_types == ["campaign.callback.received"]
    assert endpoint.data_filter == {"campaign_id": body["id"]}
    assert endpoint.secret == body["webhook_secret"]
    # Another campaign's callbacks do not reach it; this one's do.
    assert not endpoint.subscribes_to("campaign.callback.received", {"campaign_id": "another"})
    assert endpoint.subscribes_to("campaign.callback.received", {"campaign_id": body["id"]})
    assert not endpoint.subscribes_to("lead.created", {"campaign_id": body["id"]})


def test_list_and_retrieve_with_counts(api, enterprise_a, django_assert_max_num_queries):
    first = api.post(URL, campaign_body(), format="json").json()
    second = api.post(URL, campaign_body(scenario="promo"), format="json").json()
    Recipient.objects.filter(campaign_id=first["id"], index=0).update(status="delivered")
    Recipient.objects.filter(campaign_id=first["id"], index=1).update(status="skipped", reason="opted_out")

    with django_assert_max_num_queries(8):
        listing = api.get(URL)

    assert listing.status_code == 200
    assert [item["id"] for item in listing.json()["results"]] == [second["id"], first["id"]]
    assert listing.json()["results"][1]["counts"] == {
        "queued": 0,
        "sent": 0,
        "delivered": 1,
        "failed": 0,
        "skipped": 1,
    }
    retrieved = api.get(f"{URL}/{first['id']}")
    assert retrieved.status_code == 200
    assert retrieved.json()["counts"]["delivered"] == 1
    assert "webhook_secret" not in retrieved.json()
    assert api.get(f"{URL}?status=scheduled").json()["results"][0]["id"] == second["id"]
    assert api.get(f"{URL}?status=running").json()["results"] == []


def test_recipients_are_paginated_in_order_with_their_outcomes(api):
    recipients = [{"phone": f"+1818740{5000 + i}", "context": {"n": i}} for i in range(25)]
    campaign = api.post(URL, campaign_body(recipients=recipients), format="json").json()
    Recipient.objects.filter(campaign_id=campaign["id"], index=3).update(
        status="failed", error_code="30003", error="Unreachable"
    )

    page = api.get(f"{URL}/{campaign['id']}/recipients?limit=10").json()
    assert [item["index"] for item in page["results"]] == list(range(10))
    assert page["results"][3]["status"] == "failed"
    assert page["results"][3]["error_code"] == "30003"
    assert page["results"][0]["context"] == {"n": 0}
    following = api.get(page["next"]).json()
    assert [item["index"] for item in following["results"]] == list(range(10, 20))
    failed = api.get(f"{URL}/{campaign['id']}/recipients?status=failed").json()
    assert [item["index"] for item in failed["results"]] == [3]


def test_unknown_query_parameters_and_bad_status_answer_400(api):
    campaign = api.post(URL, campaign_body(), format="json").json()

    assert api.get(f"{URL}?colour=red").status_code == 400
    response = api.get(f"{URL}?status=paused")
    assert response.status_code == 400
    assert "scheduled" in response.json()["error"]["details"]["status"][0]
    assert api.get(f"{URL}/{campaign['id']}/recipients?status=lost").status_code == 400


def test_cancel_before_start_skips_every_recipient(api):
    campaign = api.post(URL, campaign_body(), format="json").json()

    response = api.post(f"{URL}/{campaign['id']}/cancel")

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert response.json()["cancelled_at"] is not None
    assert response.json()["counts"]["skipped"] == 2
    assert set(Recipient.objects.values_list("reason", flat=True)) == {"cancelled"}
    # Cancelling again changes nothing.
    assert api.post(f"{URL}/{campaign['id']}/cancel").status_code == 200


def test_cancel_after_start_is_409(api):
    campaign = api.post(URL, campaign_body(), format="json").json()
    Campaign.objects.filter(pk=campaign["id"]).update(status="running")

    response = api.post(f"{URL}/{campaign['id']}/cancel")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "CONFLICT"
    assert Campaign.objects.get(pk=campaign["id"]).status == "running"
    assert set(Recipient.objects.values_list("status", flat=True)) == {"queued"}


def test_paths_answer_with_and_without_trailing_slash(api):
    campaign = api.post(URL + "/", campaign_body(), format="json")
    assert campaign.status_code == 201
    assert api.get(f"{URL}/{campaign.json()['id']}/").status_code == 200


# --- Idempotency ---------------------------------------------------------------------------------


def test_idempotency_key_replays_the_first_answer(api):
    first = api.post(URL, campaign_body(), format="json", HTTP_IDEMPOTENCY_KEY="reminders-dec-1")
    again = api.post(URL, campaign_body(), format="json", HTTP_IDEMPOTENCY_KEY="reminders-dec-1")

    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Campaign.objects.count() == 1
    assert Recipient.objects.count() == 2


def test_idempotency_key_with_another_request_is_422(api):
    api.post(URL, campaign_body(), format="json", HTTP_IDEMPOTENCY_KEY="k1")
    response = api.post(URL, campaign_body(scenario="other"), format="json", HTTP_IDEMPOTENCY_KEY="k1")

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert Campaign.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_create_one_campaign(enterprise_a, verified_line, make_key, client_for):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers: the race needs PostgreSQL")
    secret = make_key(enterprise_a)
    recipients = [{"phone": f"+1818740{5000 + i}"} for i in range(2000)]
    body = campaign_body(recipients=recipients)
    statuses = []
    barrier = threading.Barrier(4)

    def post():
        client = client_for(secret)
        barrier.wait()
        statuses.append(client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="same").status_code)
        connection.close()

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert Campaign.objects.count() == 1
    assert Recipient.objects.count() == 2000
    assert statuses.count(201) >= 1
    assert set(statuses) <= {201, 409}


# --- Plan, scopes, tenancy ------------------------------------------------------------------------


def test_plan_without_campaigns_is_403(workspace_a, make_key, client_for):
    client = client_for(make_key(workspace_a))  # business: API and webhooks, no campaigns

    response = client.post(URL, campaign_body(), format="json")

    assert response.status_code == 403
    assert response.json()["error"]["message"] == "Campaigns are not available on your current plan."
    assert client.get(URL).status_code == 403


def test_free_plan_is_403(free_workspace, make_key, client_for):
    client = client_for(make_key(free_workspace))

    assert client.get(URL).status_code == 403
    assert client.post(URL, campaign_body(), format="json").status_code == 403


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("get", "", "campaigns:read"),
        ("post", "", "campaigns:write"),
        ("get", "/{id}", "campaigns:read"),
        ("get", "/{id}/recipients", "campaigns:read"),
        ("post", "/{id}/cancel", "campaigns:write"),
    ],
)
def test_missing_scope_is_403(api, enterprise_a, make_key, client_for, method, path, scope):
    campaign = api.post(URL, campaign_body(), format="json").json()
    others = {"campaigns:read", "campaigns:write"} - {scope}
    client = client_for(make_key(enterprise_a, scopes=sorted(others)))

    response = getattr(client, method)(URL + path.format(id=campaign["id"]), campaign_body(), format="json")

    assert response.status_code == 403
    assert scope in response.json()["error"]["message"]
    assert Campaign.objects.count() == 1
    assert Campaign.objects.get().status == "scheduled"


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/{id}"), ("get", "/{id}/recipients"), ("post", "/{id}/cancel")],
)
def test_outsider_gets_404(api, outsider, workspace_b, make_key, client_for, method, path):
    from accounts.models import Plan

    workspace_b.plan = Plan.objects.get(code=Plan.ENTERPRISE)
    workspace_b.save(update_fields=["plan"])
    campaign = api.post(URL, campaign_body(), format="json").json()
    client = client_for(make_key(workspace_b))

    response = getattr(client, method)(URL + path.format(id=campaign["id"]))

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"
    assert client.get(URL).json()["results"] == []
    assert Campaign.objects.get().status == "scheduled"


@pytest.mark.parametrize("bad_id", ["nope", "00000000-0000-0000-0000-000000000000", "1"])
def test_missing_or_malformed_id_is_404(api, bad_id):
    assert api.get(f"{URL}/{bad_id}").status_code == 404
    assert api.post(f"{URL}/{bad_id}/cancel").status_code == 404
