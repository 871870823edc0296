"""/api/v1/lines: numbers with provider credentials, verified against the provider account
(through the Twilio double), secrets write-only and encrypted at rest."""

from django.db import connection

from crm.models import Line
from messaging.models import LineProvider
from tests.crm.support import error_of

from .conftest import ACCOUNT_SID, AUTH_TOKEN, LINE_NUMBER

URL = "/api/v1/lines"


def _body(**overrides):
    return {
        "name": "Main",
        "phone_number": "(818) 555-0100",
        "provider": "twilio",
        "account_sid": ACCOUNT_SID,
        "auth_token": AUTH_TOKEN,
        **overrides,
    }


def test_a_verified_line_is_created_and_its_token_never_shown(api_a, twilio_api, workspace_a):
    response = api_a.post(URL, _body(), format="json")
    assert response.status_code == 201, response.content
    line = response.json()
    assert line["phone_number"] == LINE_NUMBER
    assert line["verified"] is True and line["is_default"] is True
    assert "auth_token" not in line and "signing_key" not in line
    # The provider was asked with the line's credentials whether the number is the account's.
    lookup = [r for r in twilio_api.requests if r.path.endswith("/IncomingPhoneNumbers.json")][-1]
    assert lookup.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/IncomingPhoneNumbers.json"
    assert lookup.query["PhoneNumber"] == [LINE_NUMBER]
    assert lookup.headers["authorization"].startswith("Basic ")
    # Encrypted at rest: the column holds no plain token.
    with connection.cursor() as cursor:
        cursor.execute("SELECT auth_token FROM messaging_lineprovider")
        (stored,) = cursor.fetchone()
    assert AUTH_TOKEN not in stored
    assert LineProvider.objects.get().auth_token == AUTH_TOKEN
    listed = api_a.get(URL).json()["results"]
    assert [item["id"] for item in listed] == [line["id"]]
    assert "auth_token" not in listed[0]


def test_a_number_the_account_does_not_have_is_400_and_nothing_stored(api_a, twilio_api):
    error = error_of(api_a.post(URL, _body(phone_number="+18185550199"), format="json"), 400, "VALIDATION_ERROR")
    assert "not one of this provider account's numbers" in error["details"]["phone_number"][0]
    assert not Line.objects.exists()


def test_wrong_credentials_are_400_on_phone_number(api_a, twilio_api):
    error = error_of(api_a.post(URL, _body(auth_token="wrong"), format="json"), 400, "VALIDATION_ERROR")
    assert "refused these credentials" in error["details"]["phone_number"][0]
    assert not Line.objects.exists()


def test_signalwire_needs_its_space(api_a, twilio_api):
    error = error_of(api_a.post(URL, _body(provider="signalwire"), format="json"), 400, "VALIDATION_ERROR")
    assert "signalwire_space" in error["details"]


def test_a_number_of_another_workspace_says_nothing_about_it(api_a, api_b, twilio_api):
    assert api_b.post(URL, _body(), format="json").status_code == 201
    error = error_of(api_a.post(URL, _body(), format="json"), 400, "VALIDATION_ERROR")
    assert error["details"] == {"phone_number": ["This number cannot be added as a line."]}


def test_the_same_number_twice_in_a_workspace_is_409(api_a, twilio_api):
    first = api_a.post(URL, _body(), format="json").json()
    error = error_of(api_a.post(URL, _body(), format="json"), 409, "CONFLICT")
    assert error["details"]["id"] == str(first["id"])


def test_a_new_default_line_unsets_the_previous(api_a, twilio_api):
    twilio_api.add_number(ACCOUNT_SID, AUTH_TOKEN, "+18185550101")
    first = api_a.post(URL, _body(), format="json").json()
    second = api_a.post(URL, _body(name="Two", phone_number="+18185550101", is_default=True), format="json").json()
    assert second["is_default"] is True
    assert api_a.get(f"{URL}/{first['id']}").json()["is_default"] is False
    error = error_of(
        api_a.patch(f"{URL}/{second['id']}", {"is_default": False}, format="json"), 400, "VALIDATION_ERROR"
    )
    assert "is_default" in error["details"]


def test_new_credentials_are_verified_again(api_a, twilio_api):
    line = api_a.post(URL, _body(), format="json").json()
    error = error_of(api_a.patch(f"{URL}/{line['id']}", {"auth_token": "nope"}, format="json"), 400, "VALIDATION_ERROR")
    assert "phone_number" in error["details"]
    assert LineProvider.objects.get().auth_token == AUTH_TOKEN
    twilio_api.accounts[ACCOUNT_SID] = "rotated-token"
    response = api_a.patch(f"{URL}/{line['id']}", {"auth_token": "rotated-token", "mps": 10}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["mps"] == 10
    assert LineProvider.objects.get().auth_token == "rotated-token"


def test_unknown_fields_are_400(api_a, twilio_api):
    error = error_of(api_a.post(URL, _body(token="x"), format="json"), 400, "VALIDATION_ERROR")
    assert error["details"]["token"][0].startswith("Unknown field.")


def test_outsider_gets_404_and_changes_nothing(api_a, api_b, twilio_api):
    line = api_a.post(URL, _body(), format="json").json()
    for method, data in (("get", None), ("patch", {"name": "X"}), ("delete", None)):
        error_of(getattr(api_b, method)(f"{URL}/{line['id']}", data, format="json"), 404, "NOT_FOUND")
    assert Line.objects.get().name == "Main"
    assert api_b.get(URL).json()["results"] == []


def test_missing_scope_is_403(workspace_a, make_key, client_for, twilio_api):
    reader = client_for(make_key(workspace_a, scopes=["contacts:read"]))
    error_of(reader.post(URL, _body(), format="json"), 403, "FORBIDDEN")
    nobody = client_for(make_key(workspace_a, scopes=["stats:read"]))
    error_of(nobody.get(URL), 403, "FORBIDDEN")
    assert not Line.objects.exists()


def test_delete_removes_the_line(api_a, twilio_api):
    line = api_a.post(URL, _body(), format="json").json()
    assert api_a.delete(f"{URL}/{line['id']}").status_code == 204
    assert not Line.objects.exists() and not LineProvider.objects.exists()
