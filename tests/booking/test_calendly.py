"""Calendly through a local HTTP double of its API on 127.0.0.1, and webhooks signed as Calendly
signs them: connect, slots (31 days a call at most), single-use links, invitee webhooks."""

import datetime as dt
import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection as db_connection

from booking.calendly import client as calendly
from booking.calendly.services import calendly_connect
from booking.models import Booking, CalendlyConnection
from crm.models import Contact
from webhooks.models import Event

TOKEN = "calendly-personal-token"
KEY = "calendly-signing-key-123"
EVENT_TYPE = "https://api.calendly.com/event_types/ET1"


class CalendlyDouble:
    """Answers like Calendly's API v2 and records every request (method, path, query, headers, body)."""

    def __init__(self):
        self.requests: list[dict] = []
        self.fail_with: int | None = None
        self.links = 0
        double = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self, method):
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                query = {key: values[0] for key, values in parse_qs(parts.query).items()}
                double.requests.append(
                    {"method": method, "path": parts.path, "query": query, "headers": dict(self.headers), "body": body}
                )
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    return self._answer(401, {"title": "Unauthenticated"})
                if double.fail_with:
                    return self._answer(double.fail_with, {"title": "Internal Server Error"})
                if method == "GET" and parts.path == "/event_types/ET1":
                    return self._answer(
                        200,
                        {
                            "resource": {
                                "uri": EVENT_TYPE,
                                "name": "30 Minute Meeting",
                                "duration": 30,
                                "scheduling_url": "https://calendly.com/acme/30min",
                            }
                        },
                    )
                if method == "GET" and parts.path == "/event_type_available_times":
                    start = dt.datetime.fromisoformat(query["start_time"].replace("Z", "+00:00"))
                    end = dt.datetime.fromisoformat(query["end_time"].replace("Z", "+00:00"))
                    if end - start > dt.timedelta(days=31) or query.get("event_type") != EVENT_TYPE:
                        return self._answer(400, {"title": "Invalid Argument"})
                    first = (start + dt.timedelta(days=1)).replace(hour=15, minute=0, second=0, microsecond=0)
                    times = [first, first + dt.timedelta(minutes=30)]
                    return self._answer(
                        200,
                        {
                            "collection": [
                                {
                                    "status": "available",
                                    "invitees_remaining": 1,
                                    "start_time": t.strftime("%Y-%m-%dT%H:%M:%S.000000Z"),
                                    "scheduling_url": "https://calendly.com/acme/30min",
                                }
                                for t in times
                                if t < end
                            ]
                        },
                    )
                if method == "POST" and parts.path == "/scheduling_links":
                    double.links += 1
                    return self._answer(
                        201,
                        {
                            "resource": {
                                "booking_url": f"https://calendly.com/d/link-{double.links}/30min",
                                "owner": body["owner"],
                                "owner_type": "EventType",
                            }
                        },
                    )
                return self._answer(404, {"title": "Resource Not Found"})

            def do_GET(self):
                self._handle("GET")

            def do_POST(self):
                self._handle("POST")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def double(settings):
    double = CalendlyDouble()
    settings.CALENDLY_API_BASE_URL = double.url
    yield double
    double.server.shutdown()


@pytest.fixture
def connected(workspace_a, double):
    return calendly_connect(workspace=workspace_a, token=TOKEN, event_type_uri=EVENT_TYPE, signing_key=KEY)


def signed(client, body: dict, *, key=KEY, at=None, header=None):
    raw = json.dumps(body).encode()
    signature = header or calendly.signature_header(
        body=raw, key=key, timestamp=int(at if at is not None else time.time())
    )
    return client.post(
        "/api/calendly/webhook", raw, content_type="application/json", HTTP_CALENDLY_WEBHOOK_SIGNATURE=signature
    )


def invitee(
    event="invitee.created",
    uri="https://api.calendly.com/scheduled_events/EV1/invitees/IN1",
    email="grace@example.com",
    **extra,
):
    return {
        "created_at": "2026-11-30T10:00:00.000000Z",
        "event": event,
        "payload": {
            "uri": uri,
            "email": email,
            "name": "Grace Hopper",
            "status": "active" if event == "invitee.created" else "canceled",
            "text_reminder_number": "+1 818-740-5020",
            "timezone": "America/New_York",
            "scheduled_event": {
                "uri": "https://api.calendly.com/scheduled_events/EV1",
                "event_type": EVENT_TYPE,
                "start_time": "2026-12-02T15:00:00.000000Z",
                "end_time": "2026-12-02T15:30:00.000000Z",
            },
            "new_field_calendly_added": {"x": 1},
            **extra,
        },
    }


def test_connect_checks_the_token_with_calendly_and_keeps_secrets_encrypted(api_a, workspace_a, double):
    bad = api_a.put("/api/v1/calendly", {"token": "wrong", "event_type_uri": EVENT_TYPE}, format="json")
    assert bad.status_code == 400
    assert "token" in bad.json()["error"]["details"]
    response = api_a.put(
        "/api/v1/calendly", {"token": TOKEN, "event_type_uri": EVENT_TYPE, "signing_key": KEY}, format="json"
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["connected"] is True
    assert (body["event_type_name"], body["duration_minutes"], body["has_signing_key"]) == (
        "30 Minute Meeting",
        30,
        True,
    )
    assert "token" not in body and "signing_key" not in body
    assert double.requests[-1]["path"] == "/event_types/ET1"
    with db_connection.cursor() as cursor:
        cursor.execute("SELECT token, signing_key FROM booking_calendlyconnection")
        stored_token, stored_key = cursor.fetchone()
    assert TOKEN not in stored_token and KEY not in stored_key
    assert CalendlyConnection.objects.get(workspace=workspace_a).token == TOKEN
    assert api_a.get("/api/v1/calendly").json()["connected"] is True
    assert api_a.delete("/api/v1/calendly").status_code == 204
    assert api_a.get("/api/v1/calendly").json()["connected"] is False


def test_widget_slots_come_from_calendly(client, brain, connected, double):
    response = client.get("/api/book-meeting", {"action": "availability", "bot_id": brain.bot_id})
    assert response.status_code == 200
    body = response.json()
    assert body["method"] == "calendly"
    assert len(body["slots"]) == 2
    first = body["slots"][0]
    assert first["start"].endswith("T15:00:00Z")
    assert first["end"].endswith("T15:30:00Z")
    call = double.requests[-1]
    assert call["path"] == "/event_type_available_times"
    assert call["query"]["event_type"] == EVENT_TYPE
    assert call["headers"]["Authorization"] == f"Bearer {TOKEN}"


def test_availability_asks_at_most_31_days_a_call(double):
    start = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
    calendly.available_times(token=TOKEN, event_type_uri=EVENT_TYPE, start=start, end=start + dt.timedelta(days=70))
    windows = [(r["query"]["start_time"], r["query"]["end_time"]) for r in double.requests]
    assert len(windows) == 3
    assert windows[0][0] == "2027-01-01T00:00:00.000000Z"
    assert windows[-1][1] == "2027-03-12T00:00:00.000000Z"
    assert all(a[1] == b[0] for a, b in itertools.pairwise(windows))


def test_a_calendly_outage_falls_back_to_native_rules_or_the_link(client, brain, connected, double, open_rules):
    double.fail_with = 503
    body = client.get("/api/book-meeting", {"action": "availability", "bot_id": brain.bot_id}).json()
    assert body["method"] == "native"
    open_rules.delete()
    body = client.get("/api/book-meeting", {"action": "availability", "bot_id": brain.bot_id}).json()
    assert body == {"ok": True, "method": "link", "booking_url": "https://calendly.com/acme/30min"}


def test_booking_with_calendly_answers_a_single_use_link(client, brain, connected, double):
    response = client.post(
        "/api/book-meeting",
        {"bot_id": brain.bot_id, "name": "Grace Hopper", "email": "grace@example.com"},
        content_type="application/json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "requested"
    assert body["method"] == "calendly"
    assert body["booking_url"] == "https://calendly.com/d/link-1/30min"
    call = double.requests[-1]
    assert call["path"] == "/scheduling_links"
    assert call["body"] == {"max_event_count": 1, "owner": EVENT_TYPE, "owner_type": "EventType"}
    # The visitor picks a time on Calendly: the webhook confirms that same booking.
    assert signed(client, invitee()).status_code == 200
    booking = Booking.objects.get(pk=body["booking_id"])
    assert booking.status == "confirmed"
    assert booking.start == dt.datetime(2026, 12, 2, 15, tzinfo=dt.UTC)
    assert Booking.objects.count() == 1


def test_invitee_created_records_once_and_canceled_cancels(client, workspace_a, connected):
    first = signed(client, invitee())
    assert first.status_code == 200
    assert first.json() == {"ok": True, "result": "recorded"}
    again = signed(client, invitee())
    assert again.json() == {"ok": True, "result": "duplicate"}
    booking = Booking.objects.get(workspace=workspace_a)
    assert (booking.status, booking.source, booking.end) == (
        "confirmed",
        "calendly",
        dt.datetime(2026, 12, 2, 15, 30, tzinfo=dt.UTC),
    )
    contact = Contact.objects.get(workspace=workspace_a)
    assert (contact.email, contact.phone_number, contact.status) == ("grace@example.com", "+18187405020", "booked")
    assert Event.objects.filter(type="booking.created").count() == 1
    assert Event.objects.filter(type="lead.booked").count() == 1
    cancel = signed(client, invitee("invitee.canceled", cancellation={"reason": "Conflict", "canceled_by": "Grace"}))
    assert cancel.json()["result"] == "recorded"
    assert signed(client, invitee("invitee.canceled")).json()["result"] == "duplicate"
    booking.refresh_from_db()
    assert (booking.status, booking.cancel_reason) == ("cancelled", "Conflict")
    assert Event.objects.filter(type="booking.cancelled").count() == 1
    assert booking.notified_sequence == booking.sequence  # Calendly sends its own e-mails


def test_a_reschedule_is_a_cancel_plus_a_create(client, workspace_a, connected):
    signed(client, invitee())
    signed(client, invitee("invitee.canceled", rescheduled=True))
    signed(client, invitee(uri="https://api.calendly.com/scheduled_events/EV2/invitees/IN2"))
    assert sorted(Booking.objects.values_list("status", flat=True)) == ["cancelled", "confirmed"]


def test_a_cancel_before_its_create_keeps_the_booking_cancelled(client, workspace_a, connected):
    signed(client, invitee("invitee.canceled"))
    assert signed(client, invitee()).json()["result"] == "duplicate"
    assert Booking.objects.get().status == "cancelled"


@pytest.mark.parametrize(
    "how",
    ["missing", "wrong key", "old", "future", "garbage", "body changed"],
)
def test_unsigned_forged_or_old_webhooks_are_403_and_record_nothing(client, connected, how):
    body = invitee()
    raw = json.dumps(body).encode()
    now = int(time.time())
    headers = {
        "wrong key": calendly.signature_header(body=raw, key="not-the-key", timestamp=now),
        "old": calendly.signature_header(body=raw, key=KEY, timestamp=now - 600),
        "future": calendly.signature_header(body=raw, key=KEY, timestamp=now + 600),
        "garbage": "t=abc,v1=zz",
        "body changed": calendly.signature_header(body=raw + b" ", key=KEY, timestamp=now),
    }
    if how == "missing":
        response = client.post("/api/calendly/webhook", raw, content_type="application/json")
    else:
        response = client.post(
            "/api/calendly/webhook", raw, content_type="application/json", HTTP_CALENDLY_WEBHOOK_SIGNATURE=headers[how]
        )
    assert response.status_code == 403
    assert response.json()["ok"] is False
    assert Booking.objects.count() == 0
    assert Contact.objects.count() == 0


def test_a_webhook_of_another_workspaces_event_type_is_403(client, workspace_b, connected, double):
    body = invitee()
    body["payload"]["scheduled_event"]["event_type"] = "https://api.calendly.com/event_types/OTHER"
    assert signed(client, body).status_code == 403


def test_malformed_webhooks_are_400_or_403_never_500(client, connected):
    raw = b"{not json"
    header = calendly.signature_header(body=raw, key=KEY, timestamp=int(time.time()))
    assert (
        client.post(
            "/api/calendly/webhook", raw, content_type="application/json", HTTP_CALENDLY_WEBHOOK_SIGNATURE=header
        ).status_code
        == 400
    )
    body = invitee()
    body["payload"]["scheduled_event"]["start_time"] = "soon"
    assert signed(client, body).status_code == 400
    body = invitee(event="routing_form_submission.created")
    assert signed(client, body).json() == {"ok": True, "result": "ignored"}


def test_calendly_routes_need_their_scope_and_stay_in_the_workspace(
    workspace_a, workspace_b, make_key, client_for, connected, double
):
    reader = client_for(make_key(workspace_a, scopes=["bookings:read"]))
    assert (
        reader.put("/api/v1/calendly", {"token": TOKEN, "event_type_uri": EVENT_TYPE}, format="json").status_code == 403
    )
    assert reader.delete("/api/v1/calendly").status_code == 403
    assert client_for(make_key(workspace_a, scopes=["bookings:write"])).get("/api/v1/calendly").status_code == 403
    outsider = client_for(make_key(workspace_b))
    assert outsider.get("/api/v1/calendly").json()["connected"] is False
    assert outsider.delete("/api/v1/calendly").status_code == 204
    assert CalendlyConnection.objects.filter(workspace=workspace_a).exists()
