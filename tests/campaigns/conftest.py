"""Campaign fixtures: workspace A on the enterprise plan (the one with campaigns) with a line."""

import pytest

from accounts.models import Plan
from crm.catalog.services import line_create
from crm.normalize import parse_phone

LINE_NUMBER = "+18187400000"


@pytest.fixture
def enterprise_a(workspace_a):
    workspace_a.plan = Plan.objects.get(code=Plan.ENTERPRISE)
    workspace_a.save(update_fields=["plan"])
    return workspace_a


@pytest.fixture
def line_a(enterprise_a):
    return line_create(workspace=enterprise_a, name="Main", phone=parse_phone(LINE_NUMBER, default_region="US"))


@pytest.fixture
def api(enterprise_a, line_a, make_key, client_for):
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
