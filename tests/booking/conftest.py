"""Booking fixtures: a brain for the widget, open rules, and a real SMTP server on 127.0.0.1."""

import email
import email.policy
import socket
import threading

import pytest
from aiosmtpd.controller import Controller
from django.test import override_settings

from booking.availability.services import rules_set
from leadhub import email_url
from messaging.brains.services import brain_create

ORIGIN = "https://acme.example"
ALL_DAY = {day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


@pytest.fixture
def brain(workspace_a):
    brain = brain_create(workspace=workspace_a, name="Front desk")
    brain.allowed_origins = [ORIGIN]
    brain.save(update_fields=["allowed_origins"])
    return brain


@pytest.fixture
def brain_b(workspace_b):
    return brain_create(workspace=workspace_b, name="Other desk")


@pytest.fixture
def open_rules(workspace_a):
    """Every hour of every day, no notice: there is always a free slot."""
    return rules_set(
        workspace=workspace_a,
        values={"timezone": "America/New_York", "weekly": ALL_DAY, "min_notice_minutes": 0, "horizon_days": 2},
    )


@pytest.fixture
def owner_with_email(owner_a):
    owner_a.email = "owner@acme.example"
    owner_a.save(update_fields=["email"])
    return owner_a


class Inbox:
    def __init__(self):
        self.messages: list[tuple[str, list[str], email.message.EmailMessage]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 OK"


@pytest.fixture
def smtp():
    """A real SMTP server on 127.0.0.1 (aiosmtpd) and Django's SMTP backend pointed at it, as
    EMAIL_URL=smtp://127.0.0.1:PORT would configure it."""
    inbox = Inbox()
    with socket.socket() as probe:  # aiosmtpd's controller needs a port number up front
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    with override_settings(**email_url.parse(f"smtp://127.0.0.1:{port}")):
        yield inbox
    controller.stop()
