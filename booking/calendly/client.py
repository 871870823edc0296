"""Calendly's API and webhooks: the provider boundary of booking.

Contract: plain functions over HTTP (urllib3) that touch no database and know no model.
`event_type_get`, `available_times` and `scheduling_link_create` call Calendly's API v2 at
CALENDLY_API_BASE_URL with a personal access token and raise CalendlyError for anything but a
good answer; `signature_verify` and `signature_header` are pure functions of Calendly's
webhook signature (`Calendly-Webhook-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of
"<t>.<raw body>" keyed with the subscription's signing key>`).

Calendly names its resources by absolute URIs (https://api.calendly.com/event_types/ABC).
Requests go to CALENDLY_API_BASE_URL with the URI's path, so a gateway or a test double
stands in for every call; the URIs themselves are kept as Calendly gave them.
"""

import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import urllib3
from django.conf import settings

TIMEOUT = urllib3.Timeout(connect=3.0, read=8.0)
MAX_RANGE = dt.timedelta(days=31)  # event_type_available_times answers at most 31 days a call
_pool = urllib3.PoolManager(num_pools=4, maxsize=4, retries=False)


class CalendlyError(Exception):
    """Calendly did not give a usable answer; `status` is its HTTP status (0: no answer)."""

    def __init__(self, message: str, status: int = 0):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class EventType:
    uri: str
    name: str
    duration_minutes: int
    scheduling_url: str


def _url(path_or_uri: str, query: dict | None = None) -> str:
    path = urlsplit(path_or_uri).path if "://" in path_or_uri else path_or_uri
    url = settings.CALENDLY_API_BASE_URL + path
    return f"{url}?{urlencode(query)}" if query else url


def _call(method: str, url: str, *, token: str, body: dict | None = None) -> dict:
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    payload = None
    if body is not None:
        headers["Content-Type"] = "application/json"
        payload = json.dumps(body).encode()
    try:
        response = _pool.request(method, url, body=payload, headers=headers, timeout=TIMEOUT, redirect=False)
    except urllib3.exceptions.HTTPError as exc:
        raise CalendlyError(f"Calendly did not answer: {exc.__class__.__name__}") from None
    if response.status == 401:
        raise CalendlyError("Calendly refused the token (401).", status=401)
    if not 200 <= response.status < 300:
        raise CalendlyError(f"Calendly answered {response.status}.", status=response.status)
    try:
        data = json.loads(response.data)
    except ValueError:
        raise CalendlyError("Calendly's answer is not JSON.", status=response.status) from None
    if not isinstance(data, dict):
        raise CalendlyError("Calendly's answer is not an object.", status=response.status)
    return data


def _instant(text) -> dt.datetime:
    if not isinstance(text, str):
        raise CalendlyError("Calendly gave a time that is not text.")
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise CalendlyError(f"Calendly gave a time that is not ISO 8601: {text[:40]!r}") from None
    if value.tzinfo is None:
        raise CalendlyError("Calendly gave a time without its offset.")
    return value.astimezone(dt.UTC)


def _z(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_type_get(*, token: str, event_type_uri: str) -> EventType:
    """The event type (GET /event_types/{uuid}); proves the token opens it."""
    resource = _call("GET", _url(event_type_uri), token=token).get("resource")
    if not isinstance(resource, dict):
        raise CalendlyError("Calendly's event type has no resource.")
    try:
        duration = int(resource.get("duration") or 30)
    except (TypeError, ValueError):
        duration = 30
    return EventType(
        uri=str(resource.get("uri") or event_type_uri),
        name=str(resource.get("name") or ""),
        duration_minutes=duration,
        scheduling_url=str(resource.get("scheduling_url") or ""),
    )


def available_times(*, token: str, event_type_uri: str, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """Start times Calendly offers in [start, end), one call per 31 days at most."""
    times: list[dt.datetime] = []
    window = start
    while window < end:
        until = min(end, window + MAX_RANGE)
        query = {"event_type": event_type_uri, "start_time": _z(window), "end_time": _z(until)}
        data = _call("GET", _url("/event_type_available_times", query), token=token)
        for item in data.get("collection") or []:
            if isinstance(item, dict) and item.get("status", "available") == "available":
                times.append(_instant(item.get("start_time")))
        window = until
    return sorted(set(times))


def scheduling_link_create(*, token: str, event_type_uri: str) -> str:
    """A single-use scheduling link (POST /scheduling_links, max_event_count 1)."""
    body = {"max_event_count": 1, "owner": event_type_uri, "owner_type": "EventType"}
    resource = _call("POST", _url("/scheduling_links"), token=token, body=body).get("resource")
    url = resource.get("booking_url") if isinstance(resource, dict) else None
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise CalendlyError("Calendly's scheduling link has no booking_url.")
    return url


# --- Webhook signatures ---------------------------------------------------------------------


def _digest(*, body: bytes, key: str, timestamp: str) -> str:
    return hmac.new(key.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def signature_header(*, body: bytes, key: str, timestamp: int) -> str:
    """The header Calendly sends with `body` (for tests and for documentation)."""
    return f"t={timestamp},v1={_digest(body=body, key=key, timestamp=str(timestamp))}"


def signature_verify(*, body: bytes, header: str | None, key: str, now: float, tolerance: int) -> bool:
    """True when `header` signs `body` with `key` and its timestamp is within `tolerance`
    seconds of `now` (older, or from the future, is a replay or a forgery)."""
    if not header or not key:
        return False
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        parts.setdefault(name, []).append(value)
    timestamps = parts.get("t") or []
    if len(timestamps) != 1 or not (timestamps[0].isascii() and timestamps[0].isdigit()) or len(timestamps[0]) > 12:
        return False
    if abs(now - int(timestamps[0])) > tolerance:
        return False
    expected = _digest(body=body, key=key, timestamp=timestamps[0])
    return any(hmac.compare_digest(expected, candidate) for candidate in parts.get("v1") or [])
