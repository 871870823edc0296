"""banner: `make run`'s last word once web, worker and beat are all up — where everything is.

Runs as a Procfile process: it waits for the web to answer /livez and for the worker and beat
to mark themselves ready (LEADHUB_RUN_DIR), prints a short banner below their start-up logs,
then stays until make run stops (honcho stops everything when one process ends), leaving
quietly on SIGTERM.
"""

import os
import signal
import sys
import time
import urllib.request
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from .. import credentials as credentials_file


def _web_up(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/livez", timeout=1) as response:  # noqa: S310 (our own loopback URL)
            return response.status == 200
    except OSError:
        return False


def _ready(name: str) -> bool:
    return bool(settings.RUN_DIR) and Path(settings.RUN_DIR, f"{name}.ready").exists()


def banner_lines(*, url: str, waiting_for: list[str]) -> list[str]:
    where = credentials_file.shown(credentials_file.demo_path())
    lines = [
        f"LeadHub is running at {url}",
        f"  API docs     {url}/api/docs/",
        f"  Admin        {url}/admin/   (OWNER_USERNAME and OWNER_PASSWORD in the credentials file)",
        f"  Health       {url}/healthz",
        f"  Credentials  {where}   in another terminal:  source {where}",
    ]
    if settings.WEBHOOK_ALLOW_HTTP and settings.WEBHOOK_ALLOWED_NETWORKS:
        networks = ", ".join(settings.WEBHOOK_ALLOWED_NETWORKS)
        lines.append(f"  Webhooks     http:// URLs on {networks} are allowed (make run only): a local receiver works")
    if waiting_for:
        lines.append(f"  Not up yet   {', '.join(waiting_for)} (see the log above)")
    lines.append("  Stop         Ctrl-C")
    width = max(len(line) for line in lines)
    return ["=" * width, *lines, "=" * width]


class Command(BaseCommand):
    help = "Print make run's banner once web, worker and beat are up, then wait until stopped."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--timeout", type=float, default=120.0, help="Seconds to wait for everything to be up")
        parser.add_argument("--exit", action="store_true", help="Exit after printing (default: wait until stopped)")

    def handle(self, *args, **options) -> None:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
        url = f"http://127.0.0.1:{os.environ.get('LEADHUB_PORT') or 8000}"  # honcho's PORT differs per process
        checks = {"web": lambda: _web_up(url), "worker": lambda: _ready("worker"), "beat": lambda: _ready("beat")}
        deadline = time.monotonic() + options["timeout"]
        waiting = list(checks)
        while waiting and time.monotonic() < deadline:
            waiting = [name for name in waiting if not checks[name]()]
            if waiting:
                time.sleep(0.25)
        self.stdout.write("\n".join(banner_lines(url=url, waiting_for=waiting)))
        self.stdout.flush()
        if not options["exit"]:
            while True:
                signal.pause()
