"""The provider boundary for Twilio and SignalWire (SPEC §7): the only module that imports the
`twilio` SDK.

Contract: it touches no database and knows no model. Callers pass an `Account` (the
credentials of one line) and plain values; it answers plain values or raises `ProviderError`
(`retryable` for 5xx, timeouts and connection failures, which a caller may try again).

- `lookup_number`: is this number one of the account's (IncomingPhoneNumbers)?
- `send_message`, `place_call`: Messages.json and Calls.json.
- `messages_since`, `calls_since`: what the account sent (or called) to a number from a number
  since a day (the Messages and Calls lists), to learn whether a hand-off nobody heard the
  answer of was accepted.
- `signature_valid`: the X-Twilio-Signature / X-SignalWire-Signature check (RequestValidator).
- `twiml_message`, `twiml_gather`, `twiml_say`: TwiML answers (messages, voice).
- `public_base_url`, `callback_url`: the URLs providers call, from PUBLIC_BASE_URL.

SignalWire's LaML API is Twilio-compatible at `https://{space}/api/laml`, so one SDK serves
both. TWILIO_API_BASE_URL sends every REST call of every line to another base (a gateway, or
the test double): the SDK is given an HTTP client that rewrites the base of each URL.
"""

from __future__ import annotations

import functools
import json
import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

TWILIO = "twilio"
SIGNALWIRE = "signalwire"
TWILIO_API = "https://api.twilio.com"

# Twilio's error for a recipient who replied STOP to the sender (SPEC §7: it opts them out).
ERROR_UNSUBSCRIBED = 21610


@dataclass(frozen=True)
class Account:
    """One line's provider credentials."""

    provider: str  # TWILIO or SIGNALWIRE
    account_sid: str
    auth_token: str
    signalwire_space: str = ""  # e.g. "example.signalwire.com"
    signing_key: str = ""  # SignalWire signs webhooks with it, not with the API token

    @property
    def api_base(self) -> str:
        if settings.TWILIO_API_BASE_URL:
            return settings.TWILIO_API_BASE_URL
        if self.provider == SIGNALWIRE:
            return f"https://{self.signalwire_space}/api/laml"
        return TWILIO_API

    @property
    def webhook_key(self) -> str:
        """The key the provider signs its webhooks with."""
        return self.signing_key if self.provider == SIGNALWIRE and self.signing_key else self.auth_token


@dataclass(frozen=True)
class Sent:
    sid: str
    status: str  # the provider's: queued, accepted, sending, sent, ...


@dataclass(frozen=True)
class Listed:
    """One message or call of the provider's lists."""

    sid: str
    status: str
    body: str  # a message's text ("" for a call)
    created_at: datetime | None


class ProviderError(Exception):
    def __init__(self, message: str, *, status: int | None = None, code: int | None = None, retryable: bool = False):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.retryable = retryable


# One connection pool per process, shared by every line's client (requests' Session is safe
# for concurrent use by the worker's threads for plain requests like these).
_session_lock = threading.Lock()
_session: requests.Session | None = None


def _shared_session() -> requests.Session:
    global _session
    with _session_lock:
        if _session is None:
            session = requests.Session()
            adapter = HTTPAdapter(pool_connections=8, pool_maxsize=64)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            # What requests would read from the environment on every call (scanning all of it
            # twice: a good part of a campaign's cost per message) is read once: the CA bundle
            # here, the proxies per API base (_environment_proxies).
            session.trust_env = False
            session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
            _session = session
        return _session


@functools.lru_cache(maxsize=64)
def _environment_proxies(base: str) -> dict[str, str]:
    """HTTPS_PROXY, HTTP_PROXY, ALL_PROXY as they apply to `base` (NO_PROXY honoured)."""
    return requests.utils.get_environ_proxies(base)


class _RebasingHttpClient(TwilioHttpClient):
    """The SDK's HTTP client, with the scheme and host of Twilio's API replaced by `base`."""

    def __init__(self, base: str):
        super().__init__(pool_connections=False, timeout=settings.TWILIO_TIMEOUT_SECONDS)
        self.session = _shared_session()
        self.base = base.rstrip("/")
        self.proxy = _environment_proxies(self.base) or None

    def request(self, method, url, *args, **kwargs):
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" == TWILIO_API:
            url = self.base + url[len(TWILIO_API) :]
        return super().request(method, url, *args, **kwargs)


def _client(account: Account) -> Client:
    return Client(account.account_sid, account.auth_token, http_client=_RebasingHttpClient(account.api_base))


_apis = threading.local()


def _account_api(account: Account):
    """The 2010-04-01 API of the line's account: /2010-04-01/Accounts/{sid}/... Kept per
    thread (the SDK's client keeps its last request and response), for the settings it was
    made with (tests change them), so a campaign's thousands of calls build it once."""
    cache = getattr(_apis, "cache", None)
    if cache is None:
        cache = _apis.cache = {}
    key = (account, account.api_base, settings.TWILIO_TIMEOUT_SECONDS)
    api = cache.get(key)
    if api is None:
        if len(cache) >= 64:
            cache.clear()
        api = cache[key] = _client(account).api.v2010.accounts(account.account_sid)
    return api


def _call(fn, *args, **kwargs):
    """Run one SDK call; its failures become ProviderError."""
    try:
        return fn(*args, **kwargs)
    except TwilioRestException as exc:
        status = int(exc.status or 0)
        raise ProviderError(
            str(exc.msg or "The provider refused the request."),
            status=status,
            code=int(exc.code) if exc.code else None,
            retryable=status >= 500 or status == 429,
        ) from None
    except TwilioException as exc:
        # A list call's page that is not a 200 arrives here, with the response beside it.
        response = exc.args[1] if len(exc.args) > 1 else None
        status = int(getattr(response, "status_code", 0) or 0)
        raise ProviderError(
            "The provider refused the request.", status=status or None, retryable=status >= 500 or status in (0, 429)
        ) from None
    except (requests.Timeout, requests.ConnectionError) as exc:
        raise ProviderError(f"The provider did not answer: {type(exc).__name__}", retryable=True) from None
    except requests.RequestException as exc:
        raise ProviderError(f"The provider call failed: {type(exc).__name__}", retryable=True) from None


def lookup_number(account: Account, phone_number: str) -> str | None:
    """The sid of `phone_number` (E.164) among the account's incoming numbers, or None.
    Bad credentials are a ProviderError with status 401."""
    numbers = _call(lambda: _account_api(account).incoming_phone_numbers.list(phone_number=phone_number, limit=5))
    for number in numbers:
        if number.phone_number == phone_number:
            return number.sid
    return None


def address(phone_number: str, channel: str) -> str:
    """The wire form of a number: `whatsapp:+E164` on WhatsApp, `+E164` otherwise."""
    return f"whatsapp:{phone_number}" if channel == "whatsapp" else phone_number


def strip_address(value: str) -> tuple[str, str]:
    """(`+E164`, channel) of a wire address."""
    value = (value or "").strip()
    if value.lower().startswith("whatsapp:"):
        return value[len("whatsapp:") :].strip(), "whatsapp"
    return value, "sms"


def send_message(
    account: Account,
    *,
    to: str,
    from_: str,
    body: str | None = None,
    content_sid: str | None = None,
    content_variables: dict[str, Any] | None = None,
    messaging_service_sid: str | None = None,
    status_callback: str | None = None,
) -> Sent:
    """POST Messages.json. `to` and `from_` are wire addresses (see `address`). A template
    (`content_sid` + `content_variables`) is sent instead of a body when given."""
    kwargs: dict[str, Any] = {"to": to}
    if messaging_service_sid:
        kwargs["messaging_service_sid"] = messaging_service_sid
    else:
        kwargs["from_"] = from_
    if content_sid:
        kwargs["content_sid"] = content_sid
        if content_variables:
            kwargs["content_variables"] = json.dumps(content_variables)
    else:
        kwargs["body"] = body or ""
    if status_callback:
        kwargs["status_callback"] = status_callback
    message = _call(lambda: _account_api(account).messages.create(**kwargs))
    return Sent(sid=message.sid, status=message.status or "queued")


def place_call(account: Account, *, to: str, from_: str, twiml: str, status_callback: str | None = None) -> Sent:
    """POST Calls.json with the TwiML to run when the call is answered."""
    kwargs: dict[str, Any] = {"to": to, "from_": from_, "twiml": twiml}
    if status_callback:
        kwargs["status_callback"] = status_callback
    call = _call(lambda: _account_api(account).calls.create(**kwargs))
    return Sent(sid=call.sid, status=call.status or "queued")


# One page: a person gets a few messages a day from one line, not fifty.
LIST_LIMIT = 50


def messages_since(account: Account, *, to: str, from_: str | None, since: datetime) -> list[Listed]:
    """GET Messages.json?To=&From=&DateSent>=: the messages to `to` (from `from_`, unless None:
    a Messaging Service picks the number) the provider has sent since `since`'s day (Twilio
    filters DateSent by day, in UTC), newest first. A message still in the provider's queue has
    no DateSent yet and is not listed."""
    kwargs: dict[str, Any] = {"to": to, "date_sent_after": since.astimezone(UTC), "limit": LIST_LIMIT}
    if from_:
        kwargs["from_"] = from_
    messages = _call(lambda: _account_api(account).messages.list(**kwargs))
    return [Listed(sid=m.sid, status=m.status or "", body=m.body or "", created_at=m.date_created) for m in messages]


def calls_since(account: Account, *, to: str, from_: str, since: datetime) -> list[Listed]:
    """GET Calls.json?To=&From=&StartTime>=: the calls to `to` from `from_` that started since
    `since`'s day (by day, like DateSent), newest first; a call not yet dialled has no start."""
    calls = _call(
        lambda: _account_api(account).calls.list(
            to=to, from_=from_, start_time_after=since.astimezone(UTC), limit=LIST_LIMIT
        )
    )
    return [Listed(sid=c.sid, status=c.status or "", body="", created_at=c.date_created) for c in calls]


SIGNATURE_HEADERS = ("HTTP_X_TWILIO_SIGNATURE", "HTTP_X_SIGNALWIRE_SIGNATURE")


def request_signature(meta: dict[str, Any]) -> str:
    for header in SIGNATURE_HEADERS:
        value = meta.get(header)
        if value:
            return value
    return ""


def signature_valid(*, key: str, url: str, params: Any, signature: str) -> bool:
    """HMAC-SHA1 over the URL and the sorted form parameters, as the providers compute it.
    `params` is the form (a QueryDict keeps repeated parameters)."""
    if not key or not signature:
        return False
    try:
        return bool(RequestValidator(key).validate(url, params, signature))
    except (TypeError, ValueError, UnicodeError):
        return False


def public_base_url(request=None, *, stored: str = "") -> str:
    """The scheme and host providers reach LeadHub at: PUBLIC_BASE_URL, else the base stored
    with the work (captured from the request that created it), else the request's own."""
    if settings.PUBLIC_BASE_URL:
        return settings.PUBLIC_BASE_URL
    if stored:
        return stored.rstrip("/")
    if request is not None:
        return f"{request.scheme}://{request.get_host()}"
    return ""


def request_url(request) -> str:
    """The URL the provider called (and signed): the public base with the request's path."""
    return public_base_url(request) + request.get_full_path()


def callback_url(path: str, *, request=None, stored: str = "") -> str:
    """An absolute URL for `path` ("/api/twilio/status") to hand to the provider; "" when no
    base is known (the provider then calls nothing back)."""
    base = public_base_url(request, stored=stored)
    return base + path if base else ""


STATUS_CALLBACK_PATH = "/api/twilio/status"


def status_callback_url(*, stored: str, message_uid) -> str | None:
    """The `StatusCallback` of one message: /api/twilio/status naming the message
    (`?message=<uid>`), so a callback that comes before the send's answer has stored the
    MessageSid still finds its message (the provider signs the whole URL, query included).
    None when no base is known."""
    url = callback_url(STATUS_CALLBACK_PATH, stored=stored)
    return f"{url}?message={message_uid}" if url else None


def twiml_message(text: str | None) -> str:
    """The TwiML answer to an inbound message: `<Response><Message>text</Message></Response>`,
    or an empty `<Response/>` (no reply)."""
    response = MessagingResponse()
    if text:
        response.message(text)
    return str(response)


def twiml_gather(*, say: str, action: str, fallback: str = "", timeout: int = 5) -> str:
    """The TwiML of a call that says `say` inside a one-key `<Gather>` posting the key to
    `action`; when no key is pressed the call goes on past the gather and says `fallback`."""
    response = VoiceResponse()
    gather = response.gather(num_digits=1, action=action, method="POST", timeout=timeout)
    gather.say(say)
    if fallback:
        response.say(fallback)
    return str(response)


def twiml_say(text: str | None) -> str:
    """A voice answer that says `text` (when there is one) and hangs up."""
    response = VoiceResponse()
    if text:
        response.say(text)
    response.hangup()
    return str(response)
