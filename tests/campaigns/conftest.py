"""Campaign fixtures: workspace A on the enterprise plan (the one with campaigns) with a line
verified against the Twilio double (campaigns send only from one), signed provider posts, a webhook
receiver, and a helper that does what beat and the workers do."""

from urllib.parse import urlencode

import pytest
from django.test import Client

from accounts.models import Plan
from crm.catalog.services import line_create
from crm.normalize import parse_phone
from messaging.campaigns import leases, tasks
from messaging.lines.services import Credentials, line_connect
from tests.messaging.doubles import TwilioDouble, twilio_signature
from tests.scope_probe import run_as_worker

LINE_NUMBER = "+18187400000"


@pytest.fixture
def enterprise_a(workspace_a):
    workspace_a.plan = Plan.objects.get(code=Plan.ENTERPRISE)
    workspace_a.save(update_fields=["plan"])
    return workspace_a


@pytest.fixture
def unverified_line(enterprise_a):
    """A line of the workspace with no provider account behind it (as the intake's catalog
    makes them): nothing may be sent from it."""
    return line_create(workspace=enterprise_a, name="Main", phone=parse_phone(LINE_NUMBER, default_region="US"))


@pytest.fixture
def api(enterprise_a, verified_line, make_key, client_for):
    return client_for(make_key(enterprise_a))


def campaign_body(**overrides):
    body = {
        "scenario": "appointment_reminder",
        "channel": "sms",
        "schedule_at": "2026-12-01T15:00:00Z",
        "message_template": "Hi {{ first_name }}, see you at {{ time }}.",
        "recipients": [
            {"phone": "+1 818-740-5020", "context": {"first_name": "Ada", "time": "10:30"}},
            {"phone": "+442071838750", "context": {"first_name": "Alan", "time": "11:00"}},
        ],
    }
    body.update(overrides)
    return body


# --- Sending: the Twilio double, a verified line, what beat and the workers do -----------------

ACCOUNT_SID = "AC" + "c" * 32
AUTH_TOKEN = "token-" + "d" * 26
SEND_NUMBER = "+18187400001"
TESTSERVER = "http://testserver"


@pytest.fixture
def twilio_api(settings):
    with TwilioDouble() as double:
        settings.TWILIO_API_BASE_URL = double.url
        double.add_number(ACCOUNT_SID, AUTH_TOKEN, SEND_NUMBER)
        yield double


@pytest.fixture
def verified_line(enterprise_a, twilio_api):
    """A line verified against the double, sending 50 messages a second (tests run quickly)."""
    return line_connect(
        workspace=enterprise_a,
        name="Reminders",
        phone=parse_phone(SEND_NUMBER, default_region="US"),
        credentials=Credentials(provider="twilio", account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN),
        mps=50,
    )


@pytest.fixture
def sender_api(enterprise_a, verified_line, make_key, client_for):
    return client_for(make_key(enterprise_a))


def run_beat() -> list:
    """What beat and the workers do on a tick: start the due campaigns, then drive each one
    (the driver task, run here as a worker runs it) until nothing more is due."""
    results = []
    for campaign_id, token in leases.campaigns_kick():
        results.append(run_as_worker(tasks.campaign_drive, str(campaign_id), str(token)))
    return results


def provider_post(path: str, params: dict, *, key: str = AUTH_TOKEN, signature: str | None = None):
    """A form the provider posts, signed as it signs (or with the `signature` given; "" for none)."""
    if signature is None:
        signature = twilio_signature(TESTSERVER + path, params, key)
    headers = {"HTTP_X_TWILIO_SIGNATURE": signature} if signature else {}
    return Client().post(path, urlencode(params), content_type="application/x-www-form-urlencoded", **headers)
