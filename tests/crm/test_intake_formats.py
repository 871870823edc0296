"""What form tools and curl send to the intake: JSON under any Content-Type (or none), forms,
and the common names of its fields (`phone`, `mobile`, `full_name`, `company`)."""

import json

import pytest

from crm.models import Contact

URL = "/api/v1/webhook/forms"
pytestmark = pytest.mark.django_db


def body(token, **fields):
    return json.dumps({"api_token": token, **fields})


@pytest.mark.parametrize(
    "content_type",
    [
        "application/x-www-form-urlencoded",  # what curl -d sends
        "text/plain",
        "text/plain;charset=UTF-8",
        "application/octet-stream",
        "",
    ],
)
def test_a_json_body_is_read_as_json_whatever_the_content_type(client, token, workspace_a, content_type):
    response = client.post(
        URL, body(token, phone_number="(818) 740 5020", name="Ada Lovelace"), content_type=content_type
    )
    assert response.status_code == 201, response.content
    contact = Contact.objects.get(workspace=workspace_a)
    assert (contact.phone_number, contact.name) == ("+18187405020", "Ada Lovelace")


def test_a_json_body_without_any_content_type_header(rf, token, workspace_a):
    from crm.intake.api import IntakeView

    request = rf.generic("POST", URL, body(token, phone_number="8187405020"))
    request.META.pop("CONTENT_TYPE", None)  # as a WSGI server passes a request without the header
    response = IntakeView.as_view()(request)
    assert response.status_code == 201, response.data
    assert Contact.objects.filter(workspace=workspace_a, phone_number="+18187405020").exists()


def test_a_form_under_a_plain_content_type_is_still_a_form(client, token, workspace_a):
    response = client.post(URL, f"api_token={token}&phone_number=8187405020&name=Ada", content_type="text/plain")
    assert response.status_code == 201
    assert Contact.objects.get(workspace=workspace_a).name == "Ada"


def test_form_encoded_posts_are_unchanged(client, token, workspace_a):
    response = client.post(URL, {"api_token": token, "phone_number": "8187405020", "name": "Ada"})
    assert response.status_code == 201
    assert Contact.objects.get(workspace=workspace_a).name == "Ada"


def test_broken_json_under_a_form_type_is_a_400_in_the_intake_shape(client, token):
    response = client.post(
        f"{URL}?api_token={token}", '{"phone_number": ', content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400
    assert response.json()["message"] == "The given data was invalid."
    assert "phone_number" in response.json()["errors"]


@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded", "text/plain"])
def test_common_aliases_map_to_their_fields(client, token, workspace_a, content_type):
    fields = {"phone": "(818) 740 5020", "full_name": "Ada Lovelace", "company": "Analytical Engines"}
    data = body(token, **fields) if content_type != "application/x-www-form-urlencoded" else None
    if data is None:
        response = client.post(URL, {"api_token": token, **fields})
    else:
        response = client.post(URL, data, content_type=content_type)
    assert response.status_code == 201, response.content
    contact = Contact.objects.get(workspace=workspace_a)
    assert (contact.phone_number, contact.name, contact.company_name) == (
        "+18187405020",
        "Ada Lovelace",
        "Analytical Engines",
    )


def test_mobile_is_the_phone_number(client, token, workspace_a):
    response = client.post(URL, body(token, mobile="8187405020"), content_type="application/json")
    assert response.status_code == 201
    assert Contact.objects.get(workspace=workspace_a).phone_number == "+18187405020"


def test_the_field_itself_wins_over_its_alias(client, token, workspace_a):
    response = client.post(
        URL,
        body(token, phone_number="8187405020", phone="8187405099", name="Ada", full_name="Someone Else"),
        content_type="application/json",
    )
    assert response.status_code == 201
    contact = Contact.objects.get(workspace=workspace_a)
    assert (contact.phone_number, contact.name) == ("+18187405020", "Ada")


def test_an_alias_error_names_the_field(client, token):
    response = client.post(URL, body(token, phone="not a phone"), content_type="application/json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["phone_number"]


def test_aliases_apply_to_the_intake_only(api_a):
    # The native API stays strict: an alias there is an unknown field.
    response = api_a.post("/api/v1/contacts", {"phone": "8187405020"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["details"]["phone"][0].startswith("Unknown field.")


def test_a_form_spells_nested_fields_over_several_keys(client, token, workspace_a):
    """HTML forms and form tools send a list of objects as `name[0]key=value` pairs."""
    response = client.post(
        URL,
        {
            "api_token": token,
            "phone_number": "(818) 740 5020",
            "other_phone_numbers[0]phone_number": "+1 415 555 0101",
            "other_phone_numbers[0]label": "work",
        },
    )
    assert response.status_code == 201, response.content
    contact = Contact.objects.get(workspace=workspace_a)
    assert [item["phone_number"] for item in contact.other_phone_numbers] == ["+14155550101"]
