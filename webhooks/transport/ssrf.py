"""The SSRF guard of SPEC §6: which URLs, addresses and ports a webhook may go to.

The host is resolved (with its own deadline) and refused when any address is not public,
unless WEBHOOK_ALLOWED_NETWORKS exempts it; the port must be 443 (80 with WEBHOOK_ALLOW_HTTP;
any port when every address is inside WEBHOOK_ALLOWED_NETWORKS). Vetting happens when an
endpoint is saved (`url_vet`) and again when a delivery connects (the HTTP client's resolver
calls `addresses_vet`), so a DNS answer that changes in between cannot steer a connection to
a private address. Every refusal names the setting that would allow it.
"""

import functools
import ipaddress
import socket
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

# A name that does not resolve within this long is refused (at save) or fails the attempt.
DNS_TIMEOUT_SECONDS = 5.0

ALLOW_HTTP_HINT = "http:// is allowed only with WEBHOOK_ALLOW_HTTP=true, for development"
NETWORKS_HINT = "WEBHOOK_ALLOWED_NETWORKS exempts networks, for development"


class UnsafeUrl(ValueError):
    """The URL may not be delivered to; the message says why, for the `url` field or the attempt."""


@dataclass(frozen=True)
class ParsedUrl:
    scheme: str
    host: str
    port: int
    path: str  # with the query


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


def _ip(address: str):
    return ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id


def _exempt(address: str) -> bool:
    ip = _ip(address)
    exempt = _networks(tuple(settings.WEBHOOK_ALLOWED_NETWORKS))
    return any(ip.version == network.version and ip in network for network in exempt)


def address_allowed(address: str) -> bool:
    """A public address, or one in WEBHOOK_ALLOWED_NETWORKS (development and tests only)."""
    return _public(_ip(address)) or _exempt(address)


def url_parse(url: str) -> ParsedUrl:
    """The parts of an endpoint URL; UnsafeUrl when it cannot be one (checked without DNS)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise UnsafeUrl("Enter a valid URL.") from None
    scheme = parts.scheme.lower()
    if scheme != "https" and not (scheme == "http" and settings.WEBHOOK_ALLOW_HTTP):
        raise UnsafeUrl(f"The URL must start with https:// ({ALLOW_HTTP_HINT}).")
    if not parts.hostname:
        raise UnsafeUrl("The URL has no host.")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl("The URL may not contain a user name or password.")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return ParsedUrl(scheme=scheme, host=parts.hostname, port=port or (443 if scheme == "https" else 80), path=path)


def _ports_allowed() -> set[int]:
    return {443, 80} if settings.WEBHOOK_ALLOW_HTTP else {443}


def addresses_vet(host: str, port: int, addresses: list[str]) -> None:
    """Refuse (UnsafeUrl) unless every address is allowed and the port is allowed for them."""
    if not addresses:
        raise UnsafeUrl(f"The host {host} does not resolve.")
    for address in addresses:
        if not address_allowed(address):
            where = f"The address {host}" if address == host else f"The host {host} resolves to {address}, which"
            raise UnsafeUrl(f"{where} is not a public address; webhooks go to public hosts only ({NETWORKS_HINT}).")
    if port not in _ports_allowed() and not all(_exempt(address) for address in addresses):
        allowed = "443 or 80" if settings.WEBHOOK_ALLOW_HTTP else "443 (80 with WEBHOOK_ALLOW_HTTP=true)"
        raise UnsafeUrl(
            f"The port must be {allowed}; port {port} is allowed only for hosts inside WEBHOOK_ALLOWED_NETWORKS."
        )


def ip_literal(host: str) -> bool:
    try:
        _ip(host)
    except ValueError:
        return False
    return True


# getaddrinfo cannot be interrupted: it runs on these threads, and a caller stops waiting at
# the deadline. A few hung lookups only queue the next ones, which then time out too.
_resolvers = ThreadPoolExecutor(max_workers=4, thread_name_prefix="webhook-dns")


def _getaddrinfo(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UnsafeUrl(f"The host {host} does not resolve.") from None
    return list(dict.fromkeys(info[4][0] for info in infos))


def resolve(host: str, port: int, timeout: float = DNS_TIMEOUT_SECONDS) -> list[str]:
    """The addresses of `host`, within `timeout` seconds; UnsafeUrl when it does not resolve."""
    if ip_literal(host):
        return [host]
    future = _resolvers.submit(_getaddrinfo, host, port)
    try:
        return future.result(timeout=timeout)
    except FutureTimeout:
        raise UnsafeUrl(f"The host {host} did not resolve within {timeout:g} s.") from None


def url_vet(url: str) -> ParsedUrl:
    """Parse the URL, resolve its host (with a deadline) and vet every address and the port.
    Called when an endpoint is saved; deliveries are vetted again when they connect."""
    parsed = url_parse(url)
    addresses_vet(parsed.host, parsed.port, resolve(parsed.host, parsed.port))
    return parsed
