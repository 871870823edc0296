"""The README's "Try it in five minutes", run as written against a live `make run` in a fresh
clone: credentials from var/credentials.env, a webhook endpoint, a receiver verifying with
standardwebhooks, a lead, a failed delivery given up on and replayed. Then Ctrl-C, which must stop every
process cleanly. So the README cannot drift from the product.

The clone is of the committed HEAD. It reuses this checkout's .venv and front-end files (the
install is `make install`'s business, tested by CI's fresh checkout), so the time is the
product's: migrations, start-up, the script. Ports are free ones on 127.0.0.1.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
BANNER_END = "Stop         Ctrl-C"

pytestmark = [
    pytest.mark.skipif(shutil.which("make") is None or shutil.which("git") is None, reason="needs make and git"),
    # The embedded default is what make run serves; the PostgreSQL pass would only repeat it.
    pytest.mark.skipif(
        "sqlite" not in settings.DATABASES["default"]["ENGINE"], reason="make run's embedded default: SQLite pass"
    ),
]


def five_minutes_block() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Try it in five minutes", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    (block,) = [block for block in blocks if "source var/credentials.env" in block]
    return block


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_env(**extra) -> dict:
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "LEADHUB_VAR_DIR", "DJANGO_SETTINGS_MODULE", "PORT"}
        and not key.startswith(("WEBHOOK_", "PYTEST", "MAKE"))
    }
    return {**env, **extra}


@pytest.fixture
def clone(tmp_path):
    path = tmp_path / "leadhub"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(path)], check=True)
    (path / ".venv").symlink_to(Path(sys.prefix))
    # Newer than the clone's requirement files: make sees the install as done.
    (path / ".venv" / ".installed").touch()
    return path


def _stop(process: subprocess.Popen, sig: int, timeout: float) -> bool:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        return True
    try:
        process.wait(timeout=timeout)
        return True
    except subprocess.TimeoutExpired:
        return False


def test_the_five_minutes_of_the_readme_work_as_written(clone, tmp_path):
    port, receiver_port = free_port(), free_port()
    script = five_minutes_block().replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    script = script.replace("127.0.0.1:9000", f"127.0.0.1:{receiver_port}")
    script = script.replace('("127.0.0.1", 9000)', f'("127.0.0.1", {receiver_port})')
    script = re.sub(r"sleep (\d+)", lambda m: f"sleep {int(m.group(1)) * 2}", script)  # a busy CI machine
    assert str(receiver_port) in script and f":{port}/" in script

    log_path = tmp_path / "make-run.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            ["make", "--no-print-directory", "run", f"PORT={port}"],
            cwd=clone,
            env=clean_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    stopped = False
    try:
        deadline = time.monotonic() + 600
        while BANNER_END not in log_path.read_text(errors="replace"):
            assert server.poll() is None, log_path.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, "make run did not print its banner"
            time.sleep(1)

        run = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=clone,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=300,
            start_new_session=True,
        )
        out = run.stdout + run.stderr
        assert run.returncode == 0, out
        assert "verified lead.created Ada Lovelace" in out, out
        assert re.search(r"^pending 1 .+", run.stdout, flags=re.M), out  # the failed attempt, with its error
        assert re.search(r"^failed$", run.stdout, flags=re.M), out  # given up on
        assert "verified lead.created Grace Hopper" in out, out
        assert "Traceback" not in out, out

        stopped = _stop(server, signal.SIGINT, 60)
        assert stopped, "make run did not stop within 60 s of Ctrl-C"
        log = log_path.read_text(errors="replace")
        after = log.split("SIGINT received", 1)[1]
        assert "SIGKILL" not in after and " ERROR " not in after, after
        for name in ("web", "worker", "beat", "banner"):
            assert f"{name}.1 stopped (rc=0)" in after, after
        # make itself got the Ctrl-C too (one foreground process group): it ends by that signal
        # and says "Interrupt", as it does for every interrupted recipe.
        assert server.returncode in (0, -signal.SIGINT), after
    finally:
        if not stopped and not _stop(server, signal.SIGINT, 30):
            _stop(server, signal.SIGKILL, 10)
