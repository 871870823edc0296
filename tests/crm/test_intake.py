"""POST /api/v1/webhook/forms: every row of SPEC §5.1's table, every field and action."""

import threading

import pytest
from django.db import connection
from django.test import Client

from accounts.services import workspace_set_limits
from crm.models import (
    Contact,
    TimelineEntry,
)
from webhooks.models import Event

URL = "/api/v1/webhook/forms"
pytestmark = pytest.mark.django_db


def events(type_):
    return Event.objects.filter(type=type_).count()


# --- The table of answers ------------------------------------------------------------------


def test_a_new_contact_is_201(post, workspace_a):
    response = post(phone_number="+1 818-740-5020", name="Ada Lovelace")
    assert response.status_code == 201
    contact = Contact.objects.get(workspace=workspace_a)
    assert response.json() == {"message": "Contact created.", "contact_id": str(contact.id)}
    assert contact.phone_number == "+18187405020"
    assert events("lead.created") == 1


@pytest.mark.parametrize(
    "written", ["(818) 740 5020", "8187405020", "818-740-5020", "+18187405020", "1 (818) 740-5020"]
)
def test_phones_written_five_ways_are_one_contact(post, workspace_a, written):
    first = post(phone_number="+1 818-740-5020", name="Ada")
    again = post(phone_number=written, name="Someone else")
    assert first.status_code == 201
    assert again.status_code == 202
    assert again.json() == {"message": "Contact created.", "contact_id": first.json()["contact_id"]}
    contact = Contact.objects.get(workspace=workspace_a)
    assert contact.name == "Ada"  # no change without force_update


def test_an_existing_contact_is_202_and_unchanged_but_the_submission_is_on_its_timeline(post, workspace_a):
    post(phone_number="8187405020", name="Ada", city="Pasadena")
    response = post(phone_number="8187405020", name="Changed", city="Elsewhere")
    assert response.status_code == 202
    contact = Contact.objects.get(workspace=workspace_a)
    assert (contact.name, contact.city) == ("Ada", "Pasadena")
    submissions = contact.timeline.filter(kind__in=[TimelineEntry.Kind.CREATED, TimelineEntry.Kind.INTAKE])
    assert [entry.data["source"] for entry in submissions] == ["intake", "intake"]
    assert "city" in submissions.first().data["fields"]
    assert events("lead.updated") == 0


def test_force_update_is_200_and_updates(post, workspace_a):
    post(phone_number="8187405020", name="Ada", city="Pasadena")
    response = post(phone_number="(818) 740-5020", name="Ada King", city="London", force_update=True)
    assert response.status_code == 200
    contact = Contact.objects.get(workspace=workspace_a)
    assert response.json() == {"message": "Contact updated.", "contact_id": str(contact.id)}
    assert (contact.name, contact.city) == ("Ada King", "London")
    assert events("lead.updated") == 1


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({}, "phone_number"),
        ({"phone_number": ""}, "phone_number"),
        ({"phone_number": "12"}, "phone_number"),
        ({"phone_number": "not a phone"}, "phone_number"),
        ({"phone_number": "8187405020", "email": "not-an-email"}, "email"),
        ({"phone_number": "8187405020", "date_of_birth": "31/31/1975"}, "date_of_birth"),
        ({"phone_number": "8187405020", "powerdialer_position": "middle"}, "powerdialer_position"),
        ({"phone_number": "8187405020", "name": "x" * 201}, "name"),
        (
            {"phone_number": "8187405020", "other_phone_numbers": [{"label": "work", "phone_number": "1"}]},
            "other_phone_numbers.0.phone_number",
        ),
    ],
)
def test_an_invalid_field_is_400_naming_it(post, fields, field):
    response = post(**fields)
    assert response.status_code == 400
    body = response.json()
    assert body["message"] == "The given data was invalid."
    assert field in body["errors"]
    assert isinstance(body["errors"][field], list)
    assert not Contact.objects.exists()


def test_a_missing_token_is_401(client):
    response = client.post(URL, {"phone_number": "8187405020"}, content_type="application/json")
    assert response.status_code == 401
    assert set(response.json()) == {"message"}


def test_a_bad_token_is_401(client):
    response = client.post(URL, {"api_token": "lh_nope", "phone_number": "8187405020"}, content_type="application/json")
    assert response.status_code == 401
    assert "invalid" in response.json()["message"]


def test_a_key_without_intake_scope_is_refused(client, workspace_a, make_key):
    key = make_key(workspace_a, scopes=["contacts:read"])
    response = client.post(URL, {"phone_number": "8187405020"}, content_type="application/json", HTTP_X_LEADHUB_KEY=key)
    assert response.status_code == 403
    assert "intake" in response.json()["message"]


def test_a_contacts_write_key_may_post_intake_from_the_headers(client, workspace_a, make_key):
    key = make_key(workspace_a, scopes=["contacts:write"])
    response = client.post(URL, {"phone_number": "8187405020"}, content_type="application/json", HTTP_X_LEADHUB_KEY=key)
    assert response.status_code == 201


def test_over_the_token_limit_is_429_with_retry_after(post, workspace_a):
    workspace_set_limits(workspace=workspace_a, intake_rate_per_minute=2)
    assert post(phone_number="8187405020").status_code == 201
    assert post(phone_number="8187405021").status_code == 201
    refused = post(phone_number="8187405022")
    assert refused.status_code == 429
    wait = int(refused["Retry-After"])
    assert refused.json() == {"message": f"Too many requests. Retry in {wait} seconds."}
    assert refused["RateLimit-Limit"] == "2"


def test_intake_counts_apart_from_the_api_limit(post, workspace_a, token, client_for):
    workspace_set_limits(workspace=workspace_a, api_rate_per_minute=1)
    api = client_for(token)
    api.get("/api/v1/workspace")
    assert post(phone_number="8187405020").status_code == 201


# --- Where the token may be ----------------------------------------------------------------


def test_token_in_the_query_string_with_a_form_encoded_body(client, token):
    response = client.post(f"{URL}?api_token={token}", {"phone_number": "8187405020", "name": "Ada"})
    assert response.status_code == 201


def test_token_in_a_form_encoded_body(client, token):
    assert client.post(URL, {"api_token": token, "phone_number": "8187405020"}).status_code == 201


@pytest.mark.parametrize("header", ["HTTP_AUTHORIZATION", "HTTP_X_LEADHUB_KEY"])
def test_token_in_the_headers(client, token, header):
    value = f"Bearer {token}" if header == "HTTP_AUTHORIZATION" else token
    response = client.post(URL, {"phone_number": "8187405020"}, content_type="application/json", **{header: value})
    assert response.status_code == 201


@pytest.mark.parametrize("where", ["body", "query"])
def test_a_key_with_more_than_the_intake_scope_is_401_in_a_body_or_query_string(client, workspace_a, make_key, where):
    key = make_key(workspace_a, scopes=["intake", "contacts:read"])
    if where == "body":
        response = client.post(URL, {"api_token": key, "phone_number": "8187405020"}, content_type="application/json")
    else:
        response = client.post(f"{URL}?api_token={key}", {"phone_number": "8187405020"})
    assert response.status_code == 401
    message = response.json()["message"]
    assert "only the intake scope" in message and "header" in message
    assert not Contact.objects.exists()
    from_header = client.post(URL, {"phone_number": "8187405020"}, HTTP_AUTHORIZATION=f"Bearer {key}")
    assert from_header.status_code == 201


def test_malformed_json_is_400_in_the_intake_shape(client, token):
    response = client.post(f"{URL}?api_token={token}", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["message"] == "The given data was invalid."


# --- Fields -------------------------------------------------------------------------------


def test_every_field_is_stored(post, workspace_a):
    response = post(
        phone_number="8187405020",
        other_phone_numbers=[{"label": "work", "phone_number": "(213) 555-0101"}],
        company_name="Analytical Engines",
        first_name="Ada",
        last_name="Lovelace",
        lead_source="Facebook",
        source="landing-page",
        email="Ada@Example.COM",
        date_of_birth="12/05/1975",
        timezone="Europe/London",
        city="London",
        state="Greater London",
        zipcode="N1",
        country="GB",
        address="12 St James's Square",
        website="https://ada.example",
        notes="Wants a demo",
        csf1="one",
        csf2="two",
        utm_source="google",
        utm_medium="cpc",
        utm_campaign="spring",
        utm_term="crm",
        utm_content="ad-1",
        page_url="https://ada.example/landing",
        referrer="https://google.com",
    )
    assert response.status_code == 201
    c = Contact.objects.get(workspace=workspace_a)
    assert c.name == "Ada Lovelace"
    assert c.email == "ada@example.com"
    assert c.other_phone_numbers == [{"label": "work", "phone_number": "+12135550101"}]
    assert str(c.date_of_birth) == "1975-12-05"
    assert (c.city, c.state, c.country, c.timezone, c.zipcode) == (
        "London",
        "Greater London",
        "GB",
        "Europe/London",
        "N1",
    )
    assert (c.company_name, c.lead_source, c.source, c.csf1, c.csf2) == (
        "Analytical Engines",
        "Facebook",
        "landing-page",
        "one",
        "two",
    )
    assert (c.address, c.website, c.notes) == ("12 St James's Square", "https://ada.example", "Wants a demo")
    assert c.first_touch["utm_campaign"] == "spring"
    assert c.first_touch["page_url"] == "https://ada.example/landing"
    assert c.latest_touch["referrer"] == "https://google.com"


def test_a_dash_date_of_birth_is_us_format(post, workspace_a):
    post(phone_number="8187405020", date_of_birth="12-05-1975")
    assert str(Contact.objects.get().date_of_birth) == "1975-12-05"


def test_place_and_time_zone_are_derived_from_the_number(post, workspace_a):
    post(phone_number="+1 818 740 5020")
    contact = Contact.objects.get(workspace=workspace_a)
    assert contact.country == "US"
    assert contact.timezone == "America/Los_Angeles"
    assert contact.state == "California"


def test_given_place_fields_win_over_derived_ones(post, workspace_a):
    post(phone_number="+1 818 740 5020", city="Burbank", timezone="America/Denver")
    contact = Contact.objects.get(workspace=workspace_a)
    assert (contact.city, contact.timezone, contact.country) == ("Burbank", "America/Denver", "US")


def test_a_number_is_read_in_the_workspaces_country(client, make_key):
    from accounts.services import workspace_create

    uk = workspace_create(name="UK Co", country="GB")
    key = make_key(uk, scopes=["intake"])
    client.post(URL, {"api_token": key, "phone_number": "020 7946 0018"}, content_type="application/json")
    assert Contact.objects.get(workspace=uk).phone_number == "+442079460018"


def test_latest_touch_follows_each_submission(post, workspace_a):
    post(phone_number="8187405020", utm_source="google")
    post(phone_number="8187405020", utm_source="newsletter")
    contact = Contact.objects.get(workspace=workspace_a)
    assert contact.first_touch["utm_source"] == "google"
    assert contact.latest_touch["utm_source"] == "newsletter"


def test_a_lead_with_a_name_is_qualified_once(post, workspace_a):
    post(phone_number="8187405020")
    contact = Contact.objects.get(workspace=workspace_a)
    assert contact.status == "new" and events("lead.qualified") == 0
    post(phone_number="8187405020", name="Ada", force_update=True)
    post(phone_number="8187405020", name="Ada L", force_update=True)
    contact.refresh_from_db()
    assert contact.status == "qualified"
    assert events("lead.qualified") == 1
    assert Event.objects.get(type="lead.qualified").data["id"] == str(contact.id)


def test_events_carry_the_contact(post, workspace_a):
    post(phone_number="8187405020", name="Ada", email="ada@example.com")
    event = Event.objects.get(type="lead.created")
    assert event.workspace == workspace_a
    assert event.data["phone"] == "+18187405020"
    assert event.data["email"] == "ada@example.com"
    assert event.data["status"] in {"new", "qualified"}


# --- Concurrency (PostgreSQL) --------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_intakes_of_one_new_phone_make_one_contact(workspace_a, make_key):
    key = make_key(workspace_a, scopes=["intake"])
    barrier, statuses = threading.Barrier(20), []

    def send(n):
        client = Client()
        barrier.wait()
        try:
            response = client.post(
                URL,
                {"api_token": key, "phone_number": "+1 818 740 5020", "name": f"Ada {n}"},
                content_type="application/json",
            )
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201] + [202] * 19
    assert Contact.objects.filter(workspace=workspace_a).count() == 1
    assert Event.objects.filter(type="lead.created").count() == 1
    assert Event.objects.filter(type="lead.qualified").count() == 1


def test_a_workspace_without_agency_cannot_make_a_stranger_the_owner(client, workspace_b, make_key, owner_a):
    assert workspace_b.agency_id is None
    key = make_key(workspace_b, scopes=["intake"])
    response = client.post(
        URL, {"api_token": key, "phone_number": "8187405020", "user_id": owner_a.pk}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "user_id" in response.json()["errors"]
    assert not Contact.objects.exists()


def test_a_name_joined_from_long_first_and_last_names_fits(post):
    response = post(phone_number="8187405020", first_name="a" * 100, last_name="b" * 100)
    assert response.status_code == 201
    assert len(Contact.objects.get().name) == 200


def test_unknown_field_names_are_not_stored(post):
    response = post(**{"phone_number": "8187405020", "\u0000": 1, "name": "Ada", "junk": 2})
    assert response.status_code == 201
    entry = TimelineEntry.objects.get(kind=TimelineEntry.Kind.CREATED)
    assert entry.data["fields"] == ["name", "phone_number"]


@pytest.mark.parametrize("field", ["name", "notes", "city"])
def test_a_lone_surrogate_is_a_400_not_a_500(client, token, field):
    raw = '{"api_token": "' + token + '", "phone_number": "8187405020", "' + field + '": "x\\ud800y"}'
    response = client.post(URL, raw, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["message"] == "The given data was invalid."


def test_a_lone_surrogate_anywhere_in_the_body_even_the_token_is_a_400(client):
    response = client.post(
        URL, '{"api_token": "lh_\\ud800", "phone_number": "8187405020"}', content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {"body": ["JSON parse error - the body holds text that is not valid Unicode."]}


def test_an_overlong_email_is_400_not_a_database_error(post):
    response = post(
        phone_number="8187405020", email="a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 60 + ".com"
    )
    assert response.status_code == 400
    assert "email" in response.json()["errors"]
