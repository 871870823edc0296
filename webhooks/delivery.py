"""Webhook delivery over HTTP: secrets and signing, the SSRF guard, and one POST per attempt.

Nothing here touches the database; webhooks.services claims deliveries, calls `post` and
records the outcome.

The SSRF guard (SPEC §6) resolves the endpoint's host once per attempt, refuses it when any
address is not public (unless WEBHOOK_ALLOWED_NETWORKS exempts it), and then connects to that
vetted address itself, sending the URL's host in `Host` and as the TLS server name, whose
certificate is checked against it. A DNS answer that changes between the check and the
connection (rebinding) therefore cannot steer the connection elsewhere.
"""

import base64
import binascii
import functools
import hashlib
import hmac
import ipaddress
import secrets
import socket
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import urllib3
from django.conf import settings
from standardwebhooks import Webhook
from urllib3.exceptions import HTTPError as Urllib3Error

SECRET_PREFIX = "whsec_"
SECRET_MIN_BYTES = 24
SECRET_MAX_BYTES = 64
SECRET_DEFAULT_BYTES = 32

TIMEOUT_SECONDS = 10
USER_AGENT = "LeadHub-Webhooks/1"
EXCERPT_LIMIT = 2048  # characters of the response kept on the attempt
# A response body larger than this is not read to its end; its connection is closed instead
# of being reused.
READ_LIMIT = 64 * 1024
# The CA bundle that verifies endpoints' certificates; None: the system's. Tests point it at
# the certificate of their local HTTPS server.
CA_CERTS: str | None = None


# --- Secrets and signing ---------------------------------------------------------------------


def secret_generate() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_DEFAULT_BYTES)).decode()


def secret_decode(secret: str) -> bytes:
    """The key bytes of a `whsec_` secret; ValueError when it is not one of 24 to 64 bytes."""
    if not isinstance(secret, str) or not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"A secret starts with {SECRET_PREFIX}.")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"A secret is {SECRET_PREFIX} followed by standard base64.") from None
    if not SECRET_MIN_BYTES <= len(key) <= SECRET_MAX_BYTES:
        raise ValueError(f"A secret encodes {SECRET_MIN_BYTES} to {SECRET_MAX_BYTES} bytes, not {len(key)}.")
    return key


def signature_headers(*, secrets: list[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The Standard Webhooks headers, one `v1,` signature per secret (two during a rotation),
    and X-LeadHub-Signature: the hex HMAC-SHA256 of the raw body under each secret's key."""
    text = body.decode()
    signed_at = datetime.fromtimestamp(timestamp, tz=UTC)
    standard = [Webhook(secret).sign(msg_id=msg_id, timestamp=signed_at, data=text) for secret in secrets]
    raw = ["sha256=" + hmac.new(secret_decode(secret), body, hashlib.sha256).hexdigest() for secret in secrets]
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(standard),
        "X-LeadHub-Signature": " ".join(raw),
    }


# --- The SSRF guard ------------------------------------------------------------------------------


class UnsafeUrl(ValueError):
    """The URL may not be delivered to; the message says why, for the `url` field or the attempt."""


@dataclass(frozen=True)
class Target:
    """Where one attempt goes: the URL's parts and the vetted address to connect to."""

    scheme: str
    host: str
    port: int
    path: str
    address: str

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


@functools.lru_cache(maxsize=8)
def _networks(cidrs: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    # IPv4 addresses carried in IPv6 ones reach the IPv4 host; vet that host too.
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in ipaddress.IPv6Network("64:ff9b::/96"):  # NAT64
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None and not _public(inner):
            return False
    return ip.is_global and not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or getattr(ip, "is_site_local", False)  # IPv6 only: the deprecated fec0::/10
    )


def address_allowed(address: str) -> bool:
    """A public address, or one in WEBHOOK_ALLOWED_NETWORKS (development and tests only)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    if _public(ip):
        return True
    exempt = _networks(tuple(settings.WEBHOOK_ALLOWED_NETWORKS))
    return any(ip.version == network.version and ip in network for network in exempt)


def url_parse(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path with query) of an endpoint URL; UnsafeUrl when it cannot be one."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise UnsafeUrl("Enter a valid URL.") from None
    scheme = parts.scheme.lower()
    if scheme != "https" and not (scheme == "http" and settings.WEBHOOK_ALLOW_HTTP):
        raise UnsafeUrl("The URL must start with https://.")
    if not parts.hostname:
        raise UnsafeUrl("The URL has no host.")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl("The URL may not contain a user name or password.")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return scheme, parts.hostname, port or (443 if scheme == "https" else 80), path


def url_vet(url: str) -> Target:
    """Resolve the URL's host once and vet every address; the Target connects to the first.

    Called when an endpoint is saved and again before every attempt."""
    scheme, host, port, path = url_parse(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UnsafeUrl(f"The host {host} does not resolve.") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise UnsafeUrl(f"The host {host} does not resolve.")
    for address in addresses:
        if not address_allowed(address):
            where = f"The address {host}" if address == host else f"The host {host} resolves to {address}, which"
            raise UnsafeUrl(f"{where} is not a public address; webhooks go to public hosts only.")
    return Target(scheme=scheme, host=host, port=port, path=path, address=addresses[0])


# --- HTTP ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    status_code: int | None
    excerpt: str
    duration_ms: int
    error: str

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class _Pools:
    """Connection pools per endpoint and vetted address, so that consecutive deliveries to an
    endpoint reuse a kept-alive connection. Bounded: the least recently used pool is closed."""

    MAX_POOLS = 256

    def __init__(self) -> None:
        self._pools: OrderedDict[tuple, urllib3.HTTPConnectionPool] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, target: Target) -> urllib3.HTTPConnectionPool:
        pool_key = (key, target.scheme, target.address, target.port, target.host, CA_CERTS)
        with self._lock:
            pool = self._pools.get(pool_key)
            if pool is not None:
                self._pools.move_to_end(pool_key)
                return pool
            pool = self._new(target)
            self._pools[pool_key] = pool
            while len(self._pools) > self.MAX_POOLS:
                _, old = self._pools.popitem(last=False)
                old.close()
            return pool

    @staticmethod
    def _new(target: Target) -> urllib3.HTTPConnectionPool:
        common = {
            "port": target.port,
            "maxsize": 4,
            "block": False,
            "timeout": urllib3.Timeout(total=TIMEOUT_SECONDS),
            "retries": False,
        }
        if target.scheme == "https":
            # Connect to the vetted address; present and verify the URL's host name.
            return urllib3.HTTPSConnectionPool(
                target.address,
                cert_reqs="CERT_REQUIRED",
                ca_certs=CA_CERTS,
                server_hostname=target.host,
                assert_hostname=target.host,
                **common,
            )
        return urllib3.HTTPConnectionPool(target.address, **common)

    def clear(self) -> None:
        with self._lock:
            for pool in self._pools.values():
                pool.close()
            self._pools.clear()


pools = _Pools()


def _describe(exc: BaseException) -> str:
    # urllib3 puts the pool's repr into its messages; the cause says what happened.
    reason = getattr(exc, "reason", None) or exc
    return f"{type(exc).__name__}: {reason}"[:500]


def post(*, pool_key: str, url: str, body: bytes, headers: dict[str, str]) -> Result:
    """One POST of the body, vetted and timed; never raises for network or HTTP failures."""
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        target = url_vet(url)
    except UnsafeUrl as exc:
        return Result(status_code=None, excerpt="", duration_ms=elapsed(), error=f"Refused: {exc}")
    pool = pools.get(pool_key, target)
    send = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Host": target.host_header,
        **headers,
    }
    try:
        response = pool.urlopen(
            "POST",
            target.path,
            body=body,
            headers=send,
            redirect=False,
            retries=False,
            assert_same_host=False,
            preload_content=False,
            release_conn=False,
        )
        try:
            content = response.read(READ_LIMIT + 1)
        except BaseException:
            response.close()  # mid-body: the connection cannot be reused
            response.release_conn()
            raise
        if len(content) > READ_LIMIT:
            response.close()  # the rest is unread: the connection cannot be reused
        response.release_conn()
    except (Urllib3Error, OSError) as exc:
        return Result(status_code=None, excerpt="", duration_ms=elapsed(), error=_describe(exc))
    # PostgreSQL text cannot hold NUL, which a receiver may send.
    excerpt = content[:EXCERPT_LIMIT].decode("utf-8", "replace")[:EXCERPT_LIMIT].replace("\x00", "\ufffd")
    return Result(status_code=response.status, excerpt=excerpt, duration_ms=elapsed(), error="")
