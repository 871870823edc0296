"""Rate limits on django-ratelimit's counters in the shared cache, with the RateLimit-* headers.

Three kinds of limit share one mechanism (`limit`): per credential by plan on the native API
(CredentialRateThrottle), per token on intake, per client IP on public endpoints (the address
behind trusted proxies: leadhub.api.proxies). Every
limited response carries RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset; a refused
one is a 429 with Retry-After.
"""

import hashlib
import os
import threading
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django_ratelimit.core import get_usage
from django_redis.client import DefaultClient
from django_redis.client.default import _main_exceptions
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rest_framework.throttling import BaseThrottle

from .authentication import credential_of
from .errors import LimitsUnavailable, RateLimited
from .proxies import client_ip

WINDOW_SECONDS = 60


# One round trip to count: INCRBY, and the expiry when this made the key.
_COUNT = """
local count = redis.call('INCRBY', KEYS[1], ARGV[1])
if count == tonumber(ARGV[1]) then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return count
"""
# Redis names a script by the SHA-1 of its source (EVALSHA): an identifier, not a security hash.
_COUNT_SHA = hashlib.sha1(_COUNT.encode(), usedforsecurity=False).hexdigest().encode()
_counted = threading.local()


def _evalsha(key: str, value: int, timeout: int) -> bytes:
    parts = [b"EVALSHA", _COUNT_SHA, b"1", key.encode(), b"%d" % value, b"%d" % timeout]
    return b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(part), part) for part in parts)


# Each thread counts on a connection of its own, made from the pool's settings but never lent by
# the pool: (pid, pool, connection). The pool's get_connection and release cost more CPU than the
# round trip they wrap (a lock, four observability records, an event, and a non-blocking read
# before every lend to check that the connection is clean: ~90 µs a request in-process). A
# connection that only this thread uses, whose replies are always read in full (any error
# disconnects it), is known clean. A forked process makes new ones (the pid differs).
_own = threading.local()


def _own_connection(pool):
    held = getattr(_own, "held", None)
    pid = os.getpid()
    if held is None or held[0] != pid or held[1] is not pool:
        held = (pid, pool, pool.connection_class(**pool.connection_kwargs))
        _own.held = held
    return held[2]


def _count(client, key: str, value: int, timeout: int) -> int:
    """INCRBY (and EXPIRE when it made the key) in one round trip: EVALSHA of _COUNT, written
    on this thread's own connection (_own_connection). redis-py's generic path (packing and
    encoding every argument, the Lua source included, retries, its instrumentation) cost about
    three quarters of the CPU of this command as a request makes it; its ~30 µs hot became
    ~120 µs amid a request (bench/profile_request.py). Redis not knowing the script yet (a
    restart, SCRIPT FLUSH) or a connection that fails goes the generic way, which loads the
    script and retries on a connection of the pool."""
    connection = _own_connection(client.connection_pool)
    reply = None
    try:
        connection.send_packed_command([_evalsha(key, value, timeout)])
        reply = connection.read_response()
    except NoScriptError:
        pass  # answered in full: the connection is clean
    except (RedisConnectionError, RedisTimeoutError):
        connection.disconnect()
    except BaseException:
        connection.disconnect()
        raise
    if reply is None:
        reply = client.eval(_COUNT, 1, key, value, timeout)
    return int(reply)


class CountingRedisClient(DefaultClient):
    """The django-redis client of the rate-limit cache (CACHES["ratelimit"]).

    django-ratelimit counts a request with `add(key, 1)` (SET NX) and, when the key existed,
    `incr(key)` (a Lua EVAL): two round trips. Here `add` of a positive count increments and
    sets the expiry in one script (`_count`: EVALSHA) and answers whether it made the key; the `incr` that
    django-ratelimit then calls on the same thread returns that count without asking Redis
    again. Only the rate-limit counters live in this cache, so nothing else sees this meaning
    of `add`.
    """

    def add(self, key: str, value: Any, timeout: Any = None, version: int | None = None, client=None) -> bool:
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0 or not timeout:
            return super().add(key, value, timeout, version=version, client=client)
        if client is None:
            client = self.get_client(write=True)
        made = self.make_key(key, version=version)
        try:
            count = _count(client, str(made), value, int(timeout))
        except _main_exceptions as error:  # as django-redis reports it: the cache then fails open
            raise ConnectionInterrupted(connection=client) from error
        _counted.last = (str(made), count)
        return count == value

    def incr(self, key: str, delta: int = 1, version: int | None = None, client=None, ignore_key_check=False) -> int:
        last = getattr(_counted, "last", None)
        if last is not None and delta == 1 and last[0] == str(self.make_key(key, version=version)):
            _counted.last = None
            return last[1]
        return super().incr(key, delta, version=version, client=client, ignore_key_check=ignore_key_check)


@dataclass(frozen=True)
class Usage:
    limit: int
    remaining: int
    reset: int  # seconds until the window resets
    limited: bool


def _request_of(request) -> HttpRequest:
    return getattr(request, "_request", request)  # the Django request under a DRF one


def limit(request, *, group: str, key: str, per_minute: int) -> Usage | None:
    """Count this request against `key` and return the usage, remembered for the headers.

    None when the cache cannot count (it is down): the request goes through uncounted.
    """
    usage = get_usage(
        _request_of(request),
        group=group,
        key=lambda _group, _request: key,
        rate=f"{per_minute}/{WINDOW_SECONDS}s",
        increment=True,
    )
    if usage is None:
        return None
    result = Usage(
        limit=usage["limit"],
        remaining=max(0, usage["limit"] - usage["count"]),
        reset=max(1, usage["time_left"]),
        limited=usage["should_limit"],
    )
    _request_of(request).ratelimit = result
    return result


def limit_or_raise(request, *, group: str, key: str, per_minute: int) -> Usage | None:
    usage = limit(request, group=group, key=key, per_minute=per_minute)
    if usage is not None and usage.limited:
        raise RateLimited(wait=usage.reset)
    return usage


# How many (address, bot_id) or (address, client_id) allowances one address may use at once.
ADDRESS_BUCKETS = 10


def public_limit_or_raise(request, *, group: str, within: str = "", write: bool = False) -> Usage | None:
    """The per-IP limit of public endpoints (PUBLIC_RATE_PER_MINUTE, 100 by default), counted
    per client address (leadhub.api.proxies) and, when given, per what the request is
    `within` (a widget's bot_id, an OAuth client_id), with the address as a whole capped at
    ADDRESS_BUCKETS times the rate.

    When the cache cannot count, an anonymous write (`write`) fails closed: 503, since nothing
    else stands between it and the database. Reads, and what a credential does, go through
    uncounted (README, "Security").
    """
    key = f"ip:{client_ip(request)}"
    per_minute = settings.PUBLIC_RATE_PER_MINUTE
    if within:
        # The address as a whole gets ADDRESS_BUCKETS of them: a caller cannot multiply its
        # allowance by making up bot_ids or client_ids.
        whole = limit_or_raise(request, group=f"{group}-address", key=key, per_minute=per_minute * ADDRESS_BUCKETS)
        if whole is None and write:
            raise LimitsUnavailable()
        key = f"{key}:{within}"
    usage = limit_or_raise(request, group=group, key=key, per_minute=per_minute)
    if usage is None and write:
        raise LimitsUnavailable()
    return usage


class CredentialRateThrottle(BaseThrottle):
    """Per credential, at the workspace's rate (its override, else its plan's)."""

    def allow_request(self, request, view) -> bool:
        credential = credential_of(request)
        if credential is not None:
            limit_or_raise(
                request, group="api", key=credential.rate_key, per_minute=credential.workspace.api_rate_per_minute
            )
        return True


class RateLimitHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        usage: Usage | None = getattr(request, "ratelimit", None)
        if usage is not None:
            response["RateLimit-Limit"] = str(usage.limit)
            response["RateLimit-Remaining"] = str(usage.remaining)
            response["RateLimit-Reset"] = str(usage.reset)
            response["RateLimit-Policy"] = f"{usage.limit};w={WINDOW_SECONDS}"
            if usage.limited and "Retry-After" not in response:
                response["Retry-After"] = str(usage.reset)
        return response


class IntakeRateThrottle(BaseThrottle):
    """Per token, at the workspace's intake rate (1000/min by default)."""

    def allow_request(self, request, view) -> bool:
        credential = credential_of(request)
        if credential is not None:
            limit_or_raise(
                request,
                group="intake",
                key=credential.rate_key,
                per_minute=credential.workspace.intake_rate_per_minute,
            )
        return True
