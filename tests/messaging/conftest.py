"""Messaging fixtures: the Twilio and Anthropic doubles wired in through settings, a verified
line, a brain with knowledge, and a helper that posts a signed inbound webhook."""

import uuid
from urllib.parse import urlencode

import pytest
from django.test import Client

from crm.normalize import parse_phone
from messaging.brains.services import brain_create, knowledge_create
from messaging.lines.services import Credentials, line_connect
from messaging.models import Brain, Message
from messaging.tasks import message_handoff
from tests.messaging import save_lead_support
from tests.scope_probe import run_as_worker

from .doubles import AnthropicDouble, TwilioDouble, twilio_signature

ACCOUNT_SID = "AC" + "a" * 32
AUTH_TOKEN = "token-" + "b" * 26
LINE_NUMBER = "+18185550100"
LEAD_NUMBER = "+18187405020"
TESTSERVER = "http://testserver"


@pytest.fixture
def twilio_api(settings):
    with TwilioDouble() as double:
        settings.TWILIO_API_BASE_URL = double.url
        double.add_number(ACCOUNT_SID, AUTH_TOKEN, LINE_NUMBER)
        yield double


@pytest.fixture
def model_api(settings):
    """The Anthropic double, with a key set (so the model, not the offline responder, answers)."""
    with AnthropicDouble() as double:
        settings.ANTHROPIC_API_KEY = "sk-ant-test"
        settings.ANTHROPIC_BASE_URL = double.url
        settings.AI_TIMEOUT_SECONDS = 2
        yield double


@pytest.fixture
def brain_a(workspace_a):
    brain = Brain.objects.filter(workspace=workspace_a, is_default=True).first()
    if brain is None:
        brain = brain_create(workspace=workspace_a, name="Front desk", slug="front-desk", is_default=True)
    brain.system_prompt = "You are the assistant of Acme Dental. Be brief."
    brain.save()
    knowledge_create(
        workspace=workspace_a,
        brain=brain,
        title="Opening hours",
        content="We are open Monday to Friday from 9am to 6pm. On Saturdays we open from 10am to 2pm.",
    )
    knowledge_create(
        workspace=workspace_a,
        brain=brain,
        title="Teeth whitening price",
        content="Teeth whitening costs $299 per session. Cleaning costs $89.",
    )
    return brain


@pytest.fixture
def line_a(workspace_a, twilio_api, brain_a):
    return line_connect(
        workspace=workspace_a,
        name="Main",
        phone=parse_phone(LINE_NUMBER, default_region="US"),
        credentials=Credentials(provider="twilio", account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN),
    )


@pytest.fixture
def send_inbound(db):
    """Post a signed inbound webhook as the provider would; returns the response."""

    def send(
        body="Hi",
        *,
        sid=None,
        sender=LEAD_NUMBER,
        to=LINE_NUMBER,
        channel="whatsapp",
        key=AUTH_TOKEN,
        path="/api/whatsapp-inbound",
        extra=None,
        signature=None,
        header="HTTP_X_TWILIO_SIGNATURE",
        base=TESTSERVER,
    ):
        prefix = "whatsapp:" if channel == "whatsapp" else ""
        params = {
            "From": prefix + sender,
            "To": prefix + to,
            "Body": body,
            "MessageSid": sid or "SM" + uuid.uuid4().hex,
            "NumMedia": "0",
            "AccountSid": ACCOUNT_SID,
            **(extra or {}),
        }
        if signature is None:
            signature = twilio_signature(base + path, params, key)
        headers = {header: signature} if signature else {}
        return Client().post(path, urlencode(params), content_type="application/x-www-form-urlencoded", **headers)

    return send


@pytest.fixture
def handoff():
    """Run the hand-off task for every queued message, as a worker runs it (its own scope)."""

    def run():
        outcomes = []
        for message_id in Message.objects.filter(status=Message.Status.QUEUED).values_list("pk", flat=True):
            outcomes.append(run_as_worker(message_handoff, message_id=message_id))
        return outcomes

    return run


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch):
    """Tests run hand-offs themselves (the `handoff` fixture): nothing goes to a broker."""
    sent = []
    monkeypatch.setattr("messaging.outbound.handoff.current_app.send_task", lambda *a, **k: sent.append((a, k)))
    return sent


@pytest.fixture
def brain(workspace_a):
    """A brain of workspace A that accepts posts from ORIGIN (save_lead_support.py) (and www.acme.example)."""
    brain = brain_create(workspace=workspace_a, name="Front desk")
    brain.allowed_origins = [save_lead_support.ORIGIN, "https://www.acme.example/"]
    brain.save(update_fields=["allowed_origins"])
    return brain
