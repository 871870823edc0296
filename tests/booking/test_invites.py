"""Invites on the wire: a real SMTP server on 127.0.0.1, the ICS parsed back with icalendar."""

import datetime as dt
import smtplib

import pytest
from django.test import override_settings
from icalendar import Calendar

from booking import tasks
from booking.availability.selectors import native_slots, rules_get
from booking.models import Booking
from booking.notifications import booking_notify_send
from leadhub import email_url
from tests.scope_probe import run_as_worker


def iso(value):
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def calendar_part(message):
    parts = [part for part in message.walk() if part.get_content_type() == "text/calendar"]
    assert len(parts) == 1
    return parts[0]


def parsed(message) -> Calendar:
    return Calendar.from_ical(calendar_part(message).get_payload(decode=True))


@pytest.fixture
def booked(api_a, workspace_a, open_rules, owner_with_email, django_capture_on_commit_callbacks, monkeypatch, smtp):
    # The task runs in the test's process, as a worker runs it: Celery is not running here.
    monkeypatch.setattr(tasks.booking_notify, "delay", lambda pk: run_as_worker(tasks.booking_notify, pk))
    slot = native_slots(workspace=workspace_a, rules=rules_get(workspace=workspace_a))[0]
    with django_capture_on_commit_callbacks(execute=True):
        response = api_a.post(
            "/api/v1/bookings",
            {"name": "Ada Lovelace", "email": "ada@example.com", "start": iso(slot.start), "message": "Quote"},
            format="json",
        )
    assert response.status_code == 201
    return Booking.objects.get(pk=response.json()["id"]), slot


def test_invite_goes_to_the_invitee_and_the_owner_with_a_request(booked, smtp):
    booking, slot = booked
    recipients = sorted(rcpt for _, rcpts, _ in smtp.messages for rcpt in rcpts)
    assert recipients == ["ada@example.com", "owner@acme.example"]
    for _, _, message in smtp.messages:
        part = calendar_part(message)
        assert part.get_param("method") == "REQUEST"
        calendar = parsed(message)
        assert calendar["METHOD"] == "REQUEST"
        event = calendar.walk("VEVENT")[0]
        assert str(event["UID"]) == f"{booking.id}@leadhub"
        assert int(event["SEQUENCE"]) == 0
        assert event.decoded("DTSTART") == slot.start
        assert event.decoded("DTEND") == slot.end
        assert event.decoded("DTSTART").utcoffset() == dt.timedelta(0)
        assert "Z" in event["DTSTART"].to_ical().decode()
        assert str(event["ORGANIZER"]) == "mailto:owner@acme.example"
        assert str(event["ATTENDEE"]) == "mailto:ada@example.com"
        assert str(event["STATUS"]) == "CONFIRMED"
        attachments = [part.get_filename() for part in message.iter_attachments()]
        assert "invite.ics" in attachments
    booking.refresh_from_db()
    assert booking.notified_sequence == 0


def test_cancel_sends_method_cancel_with_the_same_uid_and_a_higher_sequence(
    booked, smtp, api_a, django_capture_on_commit_callbacks
):
    booking, _ = booked
    request_uid = str(parsed(smtp.messages[0][2]).walk("VEVENT")[0]["UID"])
    smtp.messages.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert api_a.post(f"/api/v1/bookings/{booking.id}/cancel", {}, format="json").status_code == 200
    assert len(smtp.messages) == 2
    for _, _, message in smtp.messages:
        assert calendar_part(message).get_param("method") == "CANCEL"
        calendar = parsed(message)
        assert calendar["METHOD"] == "CANCEL"
        event = calendar.walk("VEVENT")[0]
        assert str(event["UID"]) == request_uid
        assert int(event["SEQUENCE"]) == 1
        assert str(event["STATUS"]) == "CANCELLED"


def test_a_repeated_task_sends_nothing_more(booked, smtp):
    booking, _ = booked
    count = len(smtp.messages)
    assert booking_notify_send(booking_id=str(booking.id)) == 0
    assert len(smtp.messages) == count


def test_an_smtp_failure_raises_so_the_task_retries(api_a, workspace_a, open_rules, owner_with_email):
    slot = native_slots(workspace=workspace_a, rules=rules_get(workspace=workspace_a))[0]
    booking_id = api_a.post(
        "/api/v1/bookings", {"name": "A", "email": "a@example.com", "start": iso(slot.start)}, format="json"
    ).json()["id"]
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once closed
    with override_settings(**email_url.parse(f"smtp://127.0.0.1:{port}")), pytest.raises(OSError):
        booking_notify_send(booking_id=booking_id)
    assert Booking.objects.get(pk=booking_id).notified_sequence == -1
    assert OSError in tasks.booking_notify.autoretry_for
    assert smtplib.SMTPException in tasks.booking_notify.autoretry_for


def test_the_sweep_finds_bookings_whose_emails_never_went_out(api_a, workspace_a, open_rules):
    from booking.notifications import unsent_booking_ids

    slot = native_slots(workspace=workspace_a, rules=rules_get(workspace=workspace_a))[0]
    booking_id = api_a.post(
        "/api/v1/bookings", {"name": "A", "email": "a@example.com", "start": iso(slot.start)}, format="json"
    ).json()["id"]
    now = dt.datetime.now(dt.UTC)
    assert unsent_booking_ids(since=now - dt.timedelta(days=1), settle=dt.timedelta(0)) == [booking_id]
    assert unsent_booking_ids(since=now - dt.timedelta(days=1), settle=dt.timedelta(minutes=10)) == []


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("", {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}),
        ("smtp://127.0.0.1:2525", {"EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": 2525, "EMAIL_USE_TLS": False}),
        (
            "smtp+tls://me%40acme.example:p%3Ass@mail.acme.example",
            {
                "EMAIL_HOST": "mail.acme.example",
                "EMAIL_PORT": 587,
                "EMAIL_USE_TLS": True,
                "EMAIL_USE_SSL": False,
                "EMAIL_HOST_USER": "me@acme.example",
                "EMAIL_HOST_PASSWORD": "p:ss",
            },
        ),
        ("smtps://mail.acme.example", {"EMAIL_PORT": 465, "EMAIL_USE_SSL": True, "EMAIL_USE_TLS": False}),
    ],
)
def test_email_url_forms(url, expected):
    settings = email_url.parse(url)
    assert {key: settings[key] for key in expected} == expected


@pytest.mark.parametrize("url", ["http://mail.example", "smtp://", "smtp://host:99999", "smtp://host/path"])
def test_bad_email_urls_are_refused(url):
    with pytest.raises(ValueError):
        email_url.parse(url)


def test_a_bad_email_url_stops_the_start_naming_the_variable():
    import os
    import subprocess
    import sys

    env = {**os.environ, "EMAIL_URL": "http://user:secret@mail.example"}
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'leadhub.settings'); django.setup()",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "EMAIL_URL" in result.stderr
    assert "secret" not in result.stderr


def test_a_request_without_a_time_tells_the_owner_without_a_calendar(
    client, brain, owner_with_email, smtp, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(tasks.booking_notify, "delay", lambda pk: run_as_worker(tasks.booking_notify, pk))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/book-meeting",
            {"bot_id": brain.bot_id, "name": "Ada", "email": "ada@example.com", "preferred_time": "Friday 3pm"},
            content_type="application/json",
        )
    assert response.status_code == 201
    assert [rcpts for _, rcpts, _ in smtp.messages] == [["owner@acme.example"]]
    message = smtp.messages[0][2]
    assert "Friday 3pm" in message.get_body(preferencelist=("plain",)).get_content()
    assert not [part for part in message.walk() if part.get_content_type() == "text/calendar"]
