"""HTTP for webhooks: one POST per attempt, many at once, each within a wall-clock deadline.

Requests run on one asyncio loop per process (a daemon thread, started on first use) through
one aiohttp session, whose connections are kept alive per host, so consecutive deliveries to
an endpoint reuse a connection. The engine hands over a batch of requests and gets each
result through a callback as soon as it is known: a slow receiver holds only its own
requests, never a batch.

- **The deadline**: 10 s from the start of the attempt (DNS and connect included) to the
  last byte read, however slowly the receiver trickles its status line, headers or body;
  past it the connection is dropped and the attempt is a timeout.
- **SSRF** (see `ssrf`): new connections resolve through a resolver that vets every address
  and the port, and connect only to those addresses; TLS checks the URL's host name, and
  `Host` is the URL's. IP literals, which aiohttp does not resolve, are vetted before the
  request. Redirects are never followed; at most READ_LIMIT bytes of an answer are read.

Nothing here touches the database.
"""

import asyncio
import atexit
import functools
import os
import socket
import ssl
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass

import aiohttp
from aiohttp.abc import AbstractResolver

from .ssrf import DNS_TIMEOUT_SECONDS, UnsafeUrl, addresses_vet, ip_literal, url_parse

TIMEOUT_SECONDS = 10
USER_AGENT = "LeadHub-Webhooks/1"
EXCERPT_LIMIT = 2048  # characters of the response kept on the attempt
# A response body larger than this is not read to its end; its connection is closed instead
# of being reused.
READ_LIMIT = 64 * 1024
# The CA bundle that verifies endpoints' certificates; None: the system's. Tests point it at
# the certificate of their local HTTPS server.
CA_CERTS: str | None = None


@dataclass(frozen=True)
class Request:
    key: Hashable  # the caller's handle, returned with the result
    url: str
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class Result:
    key: Hashable
    status_code: int | None
    excerpt: str
    duration_ms: int
    error: str
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class Refused(OSError):
    """Raised by the resolver: the host's addresses (or the port) may not be connected to."""


class _VettingResolver(AbstractResolver):
    """Resolves with a deadline and hands aiohttp only addresses that the guard accepts."""

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> list:
        loop = asyncio.get_running_loop()
        try:
            infos = await asyncio.wait_for(
                loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout=DNS_TIMEOUT_SECONDS
            )
        except TimeoutError:
            raise Refused(f"The host {host} did not resolve within {DNS_TIMEOUT_SECONDS:g} s.") from None
        except (socket.gaierror, UnicodeError):
            raise Refused(f"The host {host} does not resolve.") from None
        addresses = list(dict.fromkeys(info[4][0] for info in infos))
        try:
            addresses_vet(host, port, addresses)
        except UnsafeUrl as exc:
            raise Refused(str(exc)) from None
        return [
            {
                "hostname": host,
                "host": info[4][0],
                "port": port,
                "family": info[0],
                "proto": info[2],
                "flags": socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
            }
            for info in infos
        ]

    async def close(self) -> None:
        pass


@functools.lru_cache(maxsize=4)
def _ssl_context(cafile: str | None) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=cafile)


def _describe(exc: BaseException) -> str:
    refused = next((cause for cause in _causes(exc) if isinstance(cause, Refused)), None)
    if refused is not None:
        return f"Refused: {refused}"
    return f"{type(exc).__name__}: {exc}"[:500]


def _causes(exc: BaseException):
    seen = 0
    while exc is not None and seen < 5:
        yield exc
        exc = exc.__cause__ or getattr(exc, "os_error", None)
        seen += 1


def _numeric_address(host: str) -> str | None:
    """The address a host written as a number stands for (`127.0.0.1`, `2130706433`, `0x7f.1`)."""
    if ip_literal(host):
        return host
    try:
        return socket.inet_ntoa(socket.inet_aton(host))
    except OSError:
        return None


def _excerpt(content: bytes) -> str:
    # PostgreSQL text cannot hold NUL, which a receiver may send.
    return content[:EXCERPT_LIMIT].decode("utf-8", "replace")[:EXCERPT_LIMIT].replace("\x00", "\ufffd")


class Client:
    """The process's HTTP client: an event loop on a daemon thread and one aiohttp session."""

    def __init__(self) -> None:
        self.pid = _pid()
        self.loop = asyncio.new_event_loop()
        self._tasks: set[asyncio.Task] = set()
        self._thread = threading.Thread(target=self.loop.run_forever, name="webhook-http", daemon=True)
        self._thread.start()
        self.session: aiohttp.ClientSession = asyncio.run_coroutine_threadsafe(self._open(), self.loop).result()

    async def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            resolver=_VettingResolver(),
            use_dns_cache=False,  # every new connection is resolved and vetted again
            limit=0,  # the engine's claims bound what is in flight, per endpoint and workspace
            keepalive_timeout=30,
        )
        return aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,  # READ_LIMIT counts the bytes on the wire
            timeout=aiohttp.ClientTimeout(total=None),  # the deadline below covers everything
        )

    def send(self, requests: list[Request], done: Callable[[Result], None]) -> None:
        """Start every request now; `done(result)` is called (on the loop's thread) for each."""
        self.loop.call_soon_threadsafe(self._start, requests, done)

    def _start(self, requests: list[Request], done: Callable[[Result], None]) -> None:
        for request in requests:
            task = self.loop.create_task(self._finish(request, done))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _finish(self, request: Request, done: Callable[[Result], None]) -> None:
        try:
            result = await self.attempt(request)
        except Exception as exc:  # never leave the engine waiting for an answer
            result = Result(request.key, None, "", 0, f"{type(exc).__name__}: {exc}"[:500])
        done(result)

    async def attempt(self, request: Request) -> Result:
        started = time.monotonic()

        def result(status_code=None, excerpt="", error="", timed_out=False) -> Result:
            elapsed = int((time.monotonic() - started) * 1000)
            return Result(request.key, status_code, excerpt, elapsed, error, timed_out)

        try:
            parsed = url_parse(request.url)
            literal = _numeric_address(parsed.host)
            if literal is not None:  # aiohttp connects to literals without resolving them
                addresses_vet(parsed.host, parsed.port, [literal])
        except UnsafeUrl as exc:
            return result(error=f"Refused: {exc}")
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, **request.headers}
        tls = _ssl_context(CA_CERTS) if parsed.scheme == "https" else None
        try:
            async with asyncio.timeout(TIMEOUT_SECONDS):
                async with self.session.post(
                    request.url, data=request.body, headers=headers, allow_redirects=False, ssl=tls or True
                ) as response:
                    content = b""
                    while len(content) <= READ_LIMIT:
                        chunk = await response.content.read(READ_LIMIT + 1 - len(content))
                        if not chunk:
                            break
                        content += chunk
                    if len(content) > READ_LIMIT:
                        response.close()  # the rest is unread: the connection cannot be reused
                    status = response.status
        except TimeoutError:
            return result(error=f"Timeout: no complete answer within {TIMEOUT_SECONDS} s.", timed_out=True)
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            return result(error=_describe(exc))
        return result(status_code=status, excerpt=_excerpt(content))

    def post(self, request: Request) -> Result:
        """One request, waited for (a test ping, a single attempt)."""
        return asyncio.run_coroutine_threadsafe(self.attempt(request), self.loop).result()

    def close(self) -> None:
        async def shutdown() -> None:
            await self.session.close()

        try:
            asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(timeout=5)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(5)
            self.loop.close()


def _pid() -> int:
    return os.getpid()


_client: Client | None = None
_client_lock = threading.Lock()


def client() -> Client:
    """This process's client, started on first use (and again in a forked child)."""
    global _client
    with _client_lock:
        if _client is None or _client.pid != _pid():
            _client = Client()
            # Close the session before the interpreter tears it down (a worker's warm shutdown,
            # gunicorn's exit): otherwise aiohttp logs "Unclosed client session" as an ERROR.
            atexit.register(client_reset)
        return _client


def client_reset() -> None:
    """Close the client: its kept-alive connections go (tests, settings changes)."""
    global _client
    with _client_lock:
        old, _client = _client, None
    if old is not None and old.pid == _pid():
        old.close()
