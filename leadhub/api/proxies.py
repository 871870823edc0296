"""The client's address, behind the proxies named in TRUSTED_PROXIES: one helper for every
per-IP limit.

A proxy appends the address it received a request from to `X-Forwarded-For`, so the header's
right end was written by the proxies nearest LeadHub and its left end by whoever sent the
request: anything a client wants. Reading from the right, the first hop that is not a trusted
proxy is the client. When REMOTE_ADDR itself is not a trusted proxy the header is ignored;
TRUSTED_PROXIES is empty by default, so without it no header moves a limit.
"""

import ipaddress
from functools import lru_cache

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@lru_cache(maxsize=8)
def _networks(cidrs: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


def _address(hop: str) -> IPAddress | None:
    """An address as proxies write it: `203.0.113.9`, `203.0.113.9:5678`, `2001:db8::1`,
    `[2001:db8::1]:443`; None for anything else."""
    hop = hop.strip()
    if hop.startswith("["):
        hop = hop[1:].partition("]")[0]
    elif hop.count(":") == 1:
        hop = hop.partition(":")[0]
    try:
        return ipaddress.ip_address(hop)
    except ValueError:
        return None


def _trusted(address: IPAddress, networks) -> bool:
    return any(address in network for network in networks)


def client_ip(request) -> str:
    """The right-most untrusted X-Forwarded-For hop when the request came through a trusted
    proxy, else REMOTE_ADDR."""
    request = getattr(request, "_request", request)  # the Django request under a DRF one
    remote = request.META.get("REMOTE_ADDR", "")
    networks = _networks(tuple(settings.TRUSTED_PROXIES))
    peer = _address(remote) if networks else None
    if peer is None or not _trusted(peer, networks):
        return remote
    client = peer
    for hop in reversed(request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")):
        address = _address(hop)
        if address is None:  # not written by a proxy of ours: as far as the chain can be read
            break
        client = address
        if not _trusted(address, networks):
            break
    return str(client)
