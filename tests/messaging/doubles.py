"""Local HTTP doubles of the Twilio REST API and of the Anthropic Messages API, on 127.0.0.1.

The project talks to them through the real SDKs (`TWILIO_API_BASE_URL`, `ANTHROPIC_BASE_URL`),
so what is checked is the wire format. Each double records every request it received
(`double.requests`: method, path, query, form or JSON body, headers) so a test asserts what the
provider would have received. Reusable by any test (campaigns, sequences) and by bench/.

    with TwilioDouble() as twilio_api:                      # or the fixtures in conftest.py
        twilio_api.add_number("AC1", "token", "+18187405020")
        ... settings.TWILIO_API_BASE_URL = twilio_api.url
        twilio_api.messages  # the Messages.json posts, as dicts of form fields

    with AnthropicDouble() as model:
        model.reply = "We open at 9am."                     # or a function of the request body
        model.intent = "pricing"; model.delay = 2.0; model.status = 500; model.hang = True
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from twilio.request_validator import RequestValidator


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    form: dict[str, str]
    json: Any
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256


class _Double:
    """A threaded HTTP server on 127.0.0.1 with an ephemeral port."""

    def __init__(self):
        self.requests: list[Recorded] = []
        self.hung_up = 0  # answers the client closed before their last byte
        self.lock = threading.Lock()
        double = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # The headers and the body leave in two writes: without TCP_NODELAY the second
            # waits for the client's delayed ACK of the first (40 ms per request on Linux).
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def _handle(self):
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                form: dict[str, str] = {}
                body: Any = None
                content_type = self.headers.get("Content-Type") or ""
                if "json" in content_type and raw:
                    body = json.loads(raw)
                elif raw:
                    form = {key: values[-1] for key, values in parse_qs(raw.decode(), keep_blank_values=True).items()}
                record = Recorded(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query),
                    form=form,
                    json=body,
                    headers={key.lower(): value for key, value in self.headers.items()},
                )
                with double.lock:
                    double.requests.append(record)
                status, payload, headers = double.answer(record)
                data = json.dumps(payload).encode() if payload is not None else b""
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for key, value in (headers or {}).items():
                        self.send_header(key, value)
                    self.end_headers()
                    double.write_body(self.wfile, data)
                except (BrokenPipeError, ConnectionResetError):
                    with double.lock:
                        double.hung_up += 1

            do_GET = do_POST = do_DELETE = _handle

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def answer(self, record: Recorded) -> tuple[int, Any, dict | None]:
        raise NotImplementedError

    def write_body(self, wfile, data: bytes) -> None:
        wfile.write(data)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def _basic(headers: dict[str, str]) -> tuple[str, str] | None:
    value = headers.get("authorization", "")
    if not value.startswith("Basic "):
        return None
    try:
        user, _, password = base64.b64decode(value[6:]).decode().partition(":")
    except ValueError:
        return None
    return user, password


class TwilioDouble(_Double):
    """The Twilio REST API (2010-04-01) as LeadHub uses it: IncomingPhoneNumbers.json (list,
    `?PhoneNumber=`), Messages.json and Calls.json (create, and list what it accepted, filtered
    as Twilio filters: `To`, `From`, `DateSent>` / `StartTime>` by day), with HTTP Basic auth
    checked against the accounts added. A message or call is accepted once the double answers
    it, even if the client is gone by then (as at Twilio). Failure knobs: `fail_next` (a list of
    (status, code) answered to the next sends, in order), `delay` (seconds before each send
    answers), `list_status` (an error status answered to every list of messages or calls)."""

    def __init__(self):
        super().__init__()
        self.accounts: dict[str, str] = {}  # sid -> token
        self.numbers: dict[str, list[str]] = {}  # sid -> E.164 numbers
        self.fail_next: list[tuple[int, int | None]] = []
        self.delay = 0.0
        self.list_status: int | None = None
        self.accepted: list[dict[str, Any]] = []  # the messages and calls accepted, in order

    def add_number(self, account_sid: str, auth_token: str, phone_number: str) -> None:
        self.accounts[account_sid] = auth_token
        self.numbers.setdefault(account_sid, []).append(phone_number)

    @property
    def messages(self) -> list[dict[str, str]]:
        """The forms of every Messages.json create received, in order."""
        return [r.form for r in self.requests if r.method == "POST" and r.path.endswith("/Messages.json")]

    @property
    def calls(self) -> list[dict[str, str]]:
        return [r.form for r in self.requests if r.method == "POST" and r.path.endswith("/Calls.json")]

    def _error(self, status: int, code: int | None, message: str):
        return status, {"code": code, "message": message, "more_info": "", "status": status}, None

    def answer(self, record: Recorded):
        parts = record.path.split("/")
        # /2010-04-01/Accounts/{sid}/{Resource}.json
        if len(parts) < 5 or parts[1] != "2010-04-01" or parts[2] != "Accounts":
            return self._error(404, 20404, "The requested resource was not found")
        sid, resource = parts[3], parts[4]
        credentials = _basic(record.headers)
        if credentials is None or credentials[0] != sid or self.accounts.get(sid) != credentials[1]:
            return self._error(401, 20003, "Authenticate")
        if resource == "IncomingPhoneNumbers.json" and record.method == "GET":
            wanted = (record.query.get("PhoneNumber") or [None])[0]
            numbers = [n for n in self.numbers.get(sid, []) if wanted is None or n == wanted]
            instances = [
                {"sid": "PN" + uuid.uuid5(uuid.NAMESPACE_URL, n).hex, "phone_number": n, "account_sid": sid}
                for n in numbers
            ]
            return 200, _page(record, "incoming_phone_numbers", instances), None
        if resource in ("Messages.json", "Calls.json") and record.method == "GET":
            if self.list_status:
                return self._error(self.list_status, None, "The double's list is down")
            return 200, self._list(sid, resource, record), None
        if resource in ("Messages.json", "Calls.json") and record.method == "POST":
            if self.delay:
                time.sleep(self.delay)
            with self.lock:
                failure = self.fail_next.pop(0) if self.fail_next else None
            if failure is not None:
                status, code = failure
                return self._error(status, code, f"Failure {code or status} from the double")
            prefix = "SM" if resource == "Messages.json" else "CA"
            accepted = {
                "resource": resource,
                "sid": prefix + uuid.uuid4().hex,
                "account_sid": sid,
                "to": record.form.get("To"),
                "from": record.form.get("From"),
                "body": record.form.get("Body"),
                "messaging_service_sid": record.form.get("MessagingServiceSid"),
                "at": datetime.now(UTC),  # the test's clock (time_machine moves it in every thread)
            }
            with self.lock:
                self.accepted.append(accepted)
            return 201, self._instance(accepted, status="queued"), None
        return self._error(404, 20404, "The requested resource was not found")

    @staticmethod
    def _instance(accepted: dict[str, Any], *, status: str) -> dict[str, Any]:
        when = format_datetime(accepted["at"])  # RFC 2822, as Twilio writes dates
        instance = {key: value for key, value in accepted.items() if key not in ("resource", "at")}
        instance |= {"status": status, "date_created": when, "date_updated": when}
        if accepted["resource"] == "Calls.json":
            return instance | {"start_time": when}
        return instance | {"date_sent": when, "direction": "outbound-api"}

    def _list(self, sid: str, resource: str, record: Recorded) -> dict[str, Any]:
        """What Twilio lists: the account's messages (or calls), newest first, filtered by To,
        From and DateSent> (StartTime> for calls), which Twilio compares by day (UTC)."""

        def wanted(name: str) -> str | None:
            return (record.query.get(name) or [None])[0]

        to, from_ = wanted("To"), wanted("From")
        since = wanted("DateSent>" if resource == "Messages.json" else "StartTime>")
        with self.lock:
            accepted = [a for a in self.accepted if a["account_sid"] == sid and a["resource"] == resource]
        found = [
            a
            for a in reversed(accepted)
            if (to is None or a["to"] == to)
            and (from_ is None or a["from"] == from_)
            and (since is None or a["at"].date().isoformat() >= since[:10])
        ]
        key = "messages" if resource == "Messages.json" else "calls"
        status = "sent" if resource == "Messages.json" else "completed"
        return _page(record, key, [self._instance(a, status=status) for a in found])


def _page(record: Recorded, key: str, instances: list[dict[str, Any]]) -> dict[str, Any]:
    """One page of a Twilio list resource, the only one: its instances under `key`."""
    return {
        key: instances,
        "page": 0,
        "page_size": 50,
        "first_page_uri": record.path,
        "next_page_uri": None,
        "previous_page_uri": None,
        "uri": record.path,
        "start": 0,
        "end": len(instances),
    }


class AnthropicDouble(_Double):
    """The Anthropic Messages API (`POST /v1/messages`). It answers with a `reply` tool call
    carrying `reply` (text, or a function of the request body), `intent` and `confidence`, as
    LeadHub's forced tool asks. Knobs: `delay` (seconds), `status` (an error status to answer),
    `hang` (sleep `hang_seconds` before answering, past any sane timeout), `gate` (a
    threading.Event the answer waits for, at most `hang_seconds`), `trickle_seconds` (the
    headers at once, then the body in small pieces spread over that time), `plain_text` (answer
    a text block instead of the tool). `hung_up` counts answers the client closed before their
    last byte."""

    def __init__(self):
        super().__init__()
        self.reply: Any = "Thanks for writing!"
        self.intent = "none"
        self.confidence = 0.9
        self.delay = 0.0
        self.status: int | None = None
        self.hang = False
        self.hang_seconds = 30.0
        self.gate: threading.Event | None = None
        self.trickle_seconds = 0.0
        self.plain_text = False

    @property
    def calls(self) -> list[dict]:
        return [r.json for r in self.requests if r.method == "POST" and r.path == "/v1/messages"]

    def answer(self, record: Recorded):
        if record.path != "/v1/messages" or record.method != "POST":
            return 404, {"type": "error", "error": {"type": "not_found_error", "message": "Not found"}}, None
        if self.hang:
            time.sleep(self.hang_seconds)
        if self.gate is not None:
            self.gate.wait(self.hang_seconds)
        if self.delay:
            time.sleep(self.delay)
        if self.status:
            return (
                self.status,
                {"type": "error", "error": {"type": "api_error", "message": "Overloaded double"}},
                None,
            )
        text = self.reply(record.json) if callable(self.reply) else self.reply
        if self.plain_text:
            content = [{"type": "text", "text": text}]
            stop = "end_turn"
        else:
            content = [
                {
                    "type": "tool_use",
                    "id": "toolu_" + uuid.uuid4().hex[:24],
                    "name": "reply",
                    "input": {"reply": text, "intent": self.intent, "confidence": self.confidence},
                }
            ]
            stop = "tool_use"
        return (
            200,
            {
                "id": "msg_" + uuid.uuid4().hex[:24],
                "type": "message",
                "role": "assistant",
                "model": record.json.get("model", "claude"),
                "content": content,
                "stop_reason": stop,
                "stop_sequence": None,
                "usage": {"input_tokens": 100, "output_tokens": 20},
            },
            None,
        )

    def write_body(self, wfile, data: bytes) -> None:
        if not self.trickle_seconds:
            wfile.write(data)
            return
        pieces = [data[i : i + 16] for i in range(0, len(data), 16)]
        for piece in pieces:
            time.sleep(self.trickle_seconds / len(pieces))
            wfile.write(piece)


def twilio_signature(url: str, params: dict[str, str], key: str) -> str:
    """The X-Twilio-Signature a provider would send (the SDK's RequestValidator)."""
    return RequestValidator(key).compute_signature(url, params)
