"""The line a campaign sends from (SPEC §7: nothing is ever routed to an unverified number):
`from_number` is checked at create exactly as send-whatsapp checks it, and a line that stops
being verified later sends nothing."""

from datetime import UTC, datetime

import pytest
import time_machine

from crm.normalize import parse_phone
from messaging.campaigns.models import Campaign, Recipient
from messaging.lines.services import Credentials, line_connect
from messaging.models import LineProvider, Message
from tests.crm.support import error_of

from .conftest import LINE_NUMBER, campaign_body, run_beat

URL = "/api/v1/campaigns"
SEND_WHATSAPP = "/api/zapier-webhook?action=send-whatsapp"
OTHER_ACCOUNT, OTHER_TOKEN, OTHER_NUMBER = "AC" + "e" * 32, "token-" + "f" * 26, "+18187400002"


def _send_whatsapp_error(api, from_number: str | None) -> dict:
    body = {"to": "+18187405020", "message": "Hi", "channel": "sms"}
    if from_number is not None:
        body["from_number"] = from_number
    return error_of(api.post(SEND_WHATSAPP, body, format="json"), 400, "VALIDATION_ERROR")


def _campaign_error(api, **overrides) -> dict:
    return error_of(api.post(URL, campaign_body(**overrides), format="json"), 400, "VALIDATION_ERROR")


@pytest.fixture
def other_workspace_line(workspace_b, twilio_api):
    twilio_api.add_number(OTHER_ACCOUNT, OTHER_TOKEN, OTHER_NUMBER)
    return line_connect(
        workspace=workspace_b,
        name="Theirs",
        phone=parse_phone(OTHER_NUMBER, default_region="US"),
        credentials=Credentials(provider="twilio", account_sid=OTHER_ACCOUNT, auth_token=OTHER_TOKEN),
    )


def test_a_line_of_the_workspace_that_is_not_verified_is_400_as_in_send_whatsapp(api, unverified_line):
    error = _campaign_error(api, from_number=LINE_NUMBER)

    assert error["details"] == {"from_number": ["Not a verified line of this workspace."]}
    assert error["details"] == _send_whatsapp_error(api, LINE_NUMBER)["details"]
    assert not Campaign.objects.exists() and not Recipient.objects.exists()


def test_another_workspaces_verified_line_is_400_and_says_nothing_of_it(api, other_workspace_line):
    error = _campaign_error(api, from_number=OTHER_NUMBER)

    assert error["details"] == {"from_number": ["Not a verified line of this workspace."]}
    assert error["details"] == _send_whatsapp_error(api, OTHER_NUMBER)["details"]
    assert not Campaign.objects.exists()


def test_without_from_number_a_workspace_with_no_verified_line_is_400(
    enterprise_a, unverified_line, make_key, client_for
):
    api = client_for(make_key(enterprise_a))

    error = _campaign_error(api)

    assert error["details"] == {"from_number": ["The workspace has no verified default line."]}
    assert error["details"] == _send_whatsapp_error(api, None)["details"]
    assert not Campaign.objects.exists()


def test_a_from_number_that_is_not_a_number_is_400_on_from_number(api):
    error = _campaign_error(api, from_number="call me")

    assert list(error["details"]) == ["from_number"]


def test_a_line_that_stops_being_verified_after_create_sends_nothing(api, verified_line, twilio_api):
    """Nothing in the API unverifies a line (new credentials are verified before they are
    stored), but should its provider account be withdrawn (by an operator, in the database)
    after the campaign was accepted, its recipients fail when they come due rather than go
    out from a number nobody vouches for."""
    with time_machine.travel(datetime(2026, 12, 1, 18, tzinfo=UTC), tick=True):
        campaign = api.post(URL, campaign_body(schedule_at="2026-12-01T18:00:00Z"), format="json").json()
        LineProvider.objects.filter(line=verified_line).update(verified_at=None)
        run_beat()

    assert twilio_api.messages == []
    assert set(Recipient.objects.filter(campaign_id=campaign["id"]).values_list("status", "error_code")) == {
        ("failed", "no_line")
    }
    assert Campaign.objects.get(pk=campaign["id"]).status == "completed"
    assert not Message.objects.exists()


def test_a_line_campaigns_were_sent_from_cannot_be_deleted_and_says_which(api, verified_line):
    campaign = api.post(URL, campaign_body(), format="json").json()

    error = error_of(api.delete(f"/api/v1/lines/{verified_line.pk}"), 409, "CONFLICT")

    assert error["details"] == {"campaigns": [campaign["id"]]}
    assert LineProvider.objects.filter(line=verified_line).exists()
    assert api.get(f"{URL}/{campaign['id']}").json()["from_number"] == verified_line.phone_number
