"""What the webhook bench runs beside LeadHub: the receiver (an asyncio HTTP/1.1 server in its own
process that records every webhook-id with its arrival time), a private redis-server, the
Celery worker and beat processes; and what is read off the receiver's records (drain rate,
waiting for a count, percentiles). Used by webhooks.py and webhooks_peer.py."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import random
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

from harness import BIN, REPO, free_port


def _receiver_main(port_out, conn, fail_rate: float) -> None:
    records: list[tuple[str, float, int]] = []
    lock = threading.Lock()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length, webhook_id = 0, ""
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    name = name.strip().lower()
                    if name == b"content-length":
                        length = int(value)
                    elif name == b"webhook-id":
                        webhook_id = value.strip().decode()
                await reader.readexactly(length)
                status = 500 if fail_rate and random.random() < fail_rate else 200
                with lock:
                    records.append((webhook_id, time.time(), status))
                reason = b"OK" if status == 200 else b"Internal Server Error"
                writer.write(b"HTTP/1.1 %d %s\r\nContent-Length: 2\r\n\r\nok" % (status, reason))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
        port_out.value = server.sockets[0].getsockname()[1]
        async with server:
            await server.serve_forever()

    def commands() -> None:
        while True:
            command = conn.recv()
            with lock:
                if command == "dump":
                    conn.send(list(records))
                elif command == "count":
                    conn.send(len(records))
                elif command == "clear":
                    records.clear()
                    conn.send(True)

    threading.Thread(target=commands, daemon=True).start()
    asyncio.run(main())


class Receiver:
    def __init__(self, fail_rate: float = 0.0) -> None:
        self.port = multiprocessing.Value("i", 0)
        self.conn, child = multiprocessing.Pipe()
        self.process = multiprocessing.Process(target=_receiver_main, args=(self.port, child, fail_rate), daemon=True)
        self.process.start()
        deadline = time.monotonic() + 10
        while not self.port.value:
            if time.monotonic() > deadline:
                raise RuntimeError("the receiver did not start")
            time.sleep(0.01)

    def ask(self, command: str):
        self.conn.send(command)
        return self.conn.recv()

    def stop(self) -> None:
        self.process.terminate()
        self.process.join(5)


class Redis:
    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server"),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


class Celery:
    """A worker (or beat) process of `celery -A leadhub`, with its own log file."""

    def __init__(
        self, kind: str, env: dict[str, str], log: Path, concurrency: int = 8, loglevel: str = "WARNING"
    ) -> None:
        self.kind, self.env, self.log, self.concurrency, self.loglevel = kind, env, log, concurrency, loglevel
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        if self.kind == "worker":
            args = [
                "worker",
                "--concurrency",
                str(self.concurrency),
                "--loglevel",
                "WARNING",
                "--without-gossip",
                "--without-mingle",
                "-n",
                f"bench-{os.getpid()}-{time.monotonic_ns()}@%h",
            ]
        else:
            args = ["beat", "--loglevel", "WARNING", "--schedule", str(self.log.with_suffix(".schedule"))]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [str(BIN / "celery"), "-A", "leadhub", *args],
                cwd=REPO,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self) -> None:
        """SIGKILL the whole process group: the main process and its pool children, mid-task."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def wait_for(receiver: Receiver, count: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while receiver.ask("count") < count:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def drain_rate(records: list) -> tuple[float | None, float]:
    """Deliveries per second from the first receipt to the last: how fast a backlog drains."""
    if len(records) < 2:
        return None, 0.0
    times = sorted(at for _, at, _ in records)
    span = times[-1] - times[0]
    return (round((len(times) - 1) / span, 1) if span > 0 else None), round(span, 2)


def setup_endpoints(workspace, receiver: Receiver, count: int) -> None:
    from webhooks.models import Endpoint
    from webhooks.services import endpoint_create

    Endpoint.objects.all().delete()
    for n in range(count):
        endpoint_create(workspace=workspace, url=f"http://127.0.0.1:{receiver.port.value}/e{n}")
