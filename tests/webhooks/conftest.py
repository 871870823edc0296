"""A real HTTP receiver on 127.0.0.1, run by the test, and settings that let webhooks reach it."""

import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from webhooks.services import endpoint_create


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    client_port: int


class Receiver:
    """Records every POST; answers with queued statuses, then with `status`."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.statuses: deque[int] = deque()
        self.delays: deque[float] = deque()  # seconds to wait before answering, per request
        self.status = 200
        self.response_body = b'{"ok": true}'
        self.delay = 0.0  # seconds before every answer once `delays` is used up
        self.active: dict[str, int] = {}  # requests being answered now, per path
        self.most_active: dict[str, int] = {}  # the most at once, per path
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, so connection reuse can be seen

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                with receiver.lock:
                    receiver.received.append(
                        Received(self.path, dict(self.headers.items()), body, self.client_address[1])
                    )
                    status = receiver.statuses.popleft() if receiver.statuses else receiver.status
                    delay = receiver.delays.popleft() if receiver.delays else receiver.delay
                    payload = receiver.response_body
                    receiver.active[self.path] = active = receiver.active.get(self.path, 0) + 1
                    receiver.most_active[self.path] = max(active, receiver.most_active.get(self.path, 0))
                if delay:
                    time.sleep(delay)  # a slow receiver
                with receiver.lock:
                    receiver.active[self.path] -= 1
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            request_queue_size = 256  # many engine connections at once

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        # A client that hangs up mid-response (the engine stops reading at 64 KiB) is expected.
        self.server.handle_error = lambda request, client_address: None
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/leadhub"

    def respond(self, *statuses: int) -> None:
        with self.lock:
            self.statuses.extend(statuses)

    def webhook_ids(self, last: int | None = None) -> list[str]:
        """The webhook-id of every request (of the last `last` only, when given), in order."""
        with self.lock:
            received = self.received[-last:] if last else self.received
            return [item.headers["webhook-id"] for item in received]

    def wait_for(self, count: int, timeout: float = 10.0) -> None:
        """Until `count` requests have arrived (from another thread or process)."""
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.received)} of {count} requests arrived")
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint_a(workspace_a, receiver):
    return endpoint_create(workspace=workspace_a, url=receiver.url).endpoint
