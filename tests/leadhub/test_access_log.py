"""gunicorn's access log, as make run and compose run it, never shows an `api_token`."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_access_log_redacts_api_token(tmp_path):
    port = _free_port()
    log = tmp_path / "access.log"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "leadhub.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--access-logfile",
            str(log),
        ],
        cwd=ROOT,
        # The log is gunicorn's, whatever the database: SQLite, so that the PostgreSQL pass's
        # row-level security check (which waits for its database) has nothing to wait for.
        env={**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}/livez?api_token=lh_secretsecretsecret&x=1"
        for _ in range(200):
            try:
                urllib.request.urlopen(url, timeout=2).read()
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("gunicorn did not start")
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/livez", headers={"Referer": "https://forms.example/?api_token=lh_fromreferer"}
        )
        urllib.request.urlopen(request, timeout=2).read()
        for _ in range(50):
            if log.exists() and log.read_text().count("\n") >= 2:
                break
            time.sleep(0.1)
    finally:
        server.terminate()
        server.wait(timeout=10)
    text = log.read_text()
    assert "/livez?api_token=[REDACTED]&x=1" in text
    assert "lh_secretsecretsecret" not in text
    assert "lh_fromreferer" not in text
