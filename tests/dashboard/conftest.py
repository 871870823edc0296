"""The dashboard's people (owner, agent, outsider of tests/conftest.py, plus agency staff),
logged-in browsers for them, and leads, webhook deliveries and conversations made through the
services (the Twilio double, a verified line and a brain with knowledge come from
tests/messaging/conftest.py)."""

import datetime
import uuid

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from accounts.models import AgencyMembership, Plan, Role
from booking.bookings.services import Invitee, booking_create
from booking.models import Booking
from crm.catalog.services import line_create
from crm.normalize import parse_phone
from messaging.campaigns.services import RecipientIn, campaign_create
from messaging.inbound.services import inbound_receive
from tests.crm.support import contact_make
from tests.messaging.conftest import LINE_NUMBER, brain_a, line_a, twilio_api  # noqa: F401 (fixtures)
from webhooks import engine as webhook_engine
from webhooks import services as webhook_services
from webhooks.services import endpoint_create, event_emit


def logged_in(user, *, enforce_csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=enforce_csrf)
    client.force_login(user)
    return client


@pytest.fixture
def owner_client(owner_a):
    return logged_in(owner_a)


@pytest.fixture
def agent_client(agent_a):
    return logged_in(agent_a)


@pytest.fixture
def outsider_client(outsider):
    return logged_in(outsider)


@pytest.fixture
def staff_a(workspace_a, django_user_model):
    """Agency staff (agent role) of workspace A's agency, with no membership of its own."""
    user = django_user_model.objects.create_user(username="staff-a", password="staff-a-pass")
    AgencyMembership.objects.create(agency=workspace_a.agency, user=user, role=Role.AGENT)
    return user


@pytest.fixture
def lead_a(workspace_a):
    return contact_make(workspace_a, phone="+1 818-740-5020", email="ada@example.com", name="Ada Lovelace")


@pytest.fixture
def lead_b(workspace_b):
    return contact_make(workspace_b, phone="+1 818-740-5099", name="Other Person")


@pytest.fixture
def endpoint_a(workspace_a, receiver):
    return endpoint_create(workspace=workspace_a, url=receiver.url).endpoint


@pytest.fixture
def endpoint_b(workspace_b, receiver):
    return endpoint_create(workspace=workspace_b, url=receiver.url).endpoint


def failed_delivery(workspace, endpoint, receiver, *, status=500, body=b'{"error": "database down"}'):
    """A delivery that really reached the receiver, got `status`, and was given up (failed)."""
    receiver.status = status
    receiver.response_body = body
    with transaction.atomic():
        event_emit(workspace=workspace, type="lead.created", data={"id": "x", "name": "Ada"})
    delivery = endpoint.deliveries.order_by("-created_at").first()
    # Attempted here, unless a worker (the browser tests' eager Celery) did it on commit.
    for claimed in webhook_engine.deliveries_claim(delivery_ids=[str(delivery.pk)], limit=1):
        webhook_engine.delivery_attempt(delivery=claimed)
    webhook_services.deliveries_give_up(workspace=workspace, deliveries=[delivery], actor="test")
    delivery.refresh_from_db()
    return delivery


@pytest.fixture
def campaign_a(workspace_a):
    workspace_a.plan = Plan.objects.get(code=Plan.ENTERPRISE)
    workspace_a.save(update_fields=["plan"])
    line = line_create(workspace=workspace_a, name="Main", phone=parse_phone("+18187400000", default_region="US"))
    return campaign_create(
        workspace=workspace_a,
        scenario="appointment_reminder",
        name="December reminders",
        channel="sms",
        schedule_at=timezone.now() + datetime.timedelta(days=1),
        message_template="Hi {{ first_name }}",
        recipients=[
            RecipientIn(phone=parse_phone("+18187405020", default_region="US"), context={"first_name": "Ada"}),
            RecipientIn(phone=parse_phone("+18187405021", default_region="US"), context={"first_name": "Alan"}),
        ],
        line=line,
        public_base_url="https://crm.example.com",
    ).campaign


@pytest.fixture
def booking_a(workspace_a):
    """A confirmed booking two days ahead (made as a request, then given its time)."""
    booking = booking_create(
        workspace=workspace_a, invitee=Invitee(name="Ada Lovelace", email="ada@example.com"), start=None
    )
    start = timezone.now() + datetime.timedelta(days=2)
    end = start + datetime.timedelta(minutes=30)
    Booking.objects.filter(pk=booking.pk).update(
        status="confirmed", start=start, end=end, blocked_from=start, blocked_until=end
    )
    booking.refresh_from_db()
    return booking


def inbound(line, phone: str, body: str, *, channel: str = "whatsapp"):
    """A message from `phone` to the line, received as the provider's webhook is (the offline
    responder answers it: no model key in tests)."""
    prefix = "whatsapp:" if channel == "whatsapp" else ""
    params = {"From": prefix + phone, "To": prefix + LINE_NUMBER, "Body": body, "MessageSid": "SM" + uuid.uuid4().hex}
    return inbound_receive(line=line, params=params).message


@pytest.fixture
def conversation_a(line_a, lead_a, settings):  # noqa: F811 (line_a is the imported fixture)
    """Ada's WhatsApp conversation with workspace A's line: her question and the brain's answer."""
    settings.ANTHROPIC_API_KEY = ""
    message = inbound(line_a, lead_a.phone_number, "Hi, how much is teeth whitening?")
    message.conversation.refresh_from_db()
    return message.conversation
