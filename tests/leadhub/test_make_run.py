"""`make run`'s pieces a newcomer meets: make help, the banner once everything is up, logging
that stays quiet unless something happened, loopback webhooks allowed there and only there."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.core.management import call_command

ROOT = Path(settings.BASE_DIR)


def test_make_help_lists_the_targets():
    out = subprocess.run(["make", "--no-print-directory", "help"], cwd=ROOT, capture_output=True, text=True, check=True)
    lines = out.stdout.splitlines()
    for target in ("run", "test", "lint", "bench", "clean", "help"):
        assert any(line.split()[:1] == [target] for line in lines), (target, out.stdout)
    assert "PORT" in out.stdout


def test_make_without_a_target_is_help():
    out = subprocess.run(["make", "--no-print-directory"], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.startswith("LeadHub: make <target>")


def _ready(run_dir: Path, *names: str) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    for name in names:
        (run_dir / f"{name}.ready").write_text("1")


@pytest.fixture
def banner_env(live_server, tmp_path, settings, monkeypatch):
    settings.RUN_DIR = str(tmp_path / "run")
    port = live_server.url.rsplit(":", 1)[1]
    monkeypatch.setenv("LEADHUB_PORT", port)
    monkeypatch.chdir(tmp_path)  # settings.VAR_DIR is tmp_path / "var" (tests/conftest.py)
    return f"http://127.0.0.1:{port}"


def test_the_banner_says_where_everything_is_once_all_is_up(banner_env, settings, capsys):
    settings.WEBHOOK_ALLOW_HTTP = True
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]
    _ready(Path(settings.RUN_DIR), "worker", "beat")
    call_command("banner", "--exit", "--timeout", "20")
    out = capsys.readouterr().out
    url = banner_env
    assert f"LeadHub is running at {url}" in out
    for line in (f"{url}/api/docs/", f"{url}/admin/", f"{url}/healthz", "source var/credentials.env"):
        assert line in out
    assert "http:// URLs on 127.0.0.0/8, ::1/128 are allowed (make run only)" in out
    assert "Not up yet" not in out


def test_the_banner_names_what_did_not_come_up(banner_env, settings, capsys):
    settings.WEBHOOK_ALLOW_HTTP = False
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    _ready(Path(settings.RUN_DIR), "beat")
    call_command("banner", "--exit", "--timeout", "0.5")
    out = capsys.readouterr().out
    assert "Not up yet   worker (see the log above)" in out
    assert "Webhooks" not in out  # nothing relaxed, nothing said


def _settings_in_a_process(env: dict, expression: str) -> str:
    code = f"import django; django.setup(); from django.conf import settings; print({expression})"
    full = {**os.environ, "DJANGO_SETTINGS_MODULE": "leadhub.settings", **env}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=full, capture_output=True, text=True, check=True
    ).stdout.strip()


def test_periodic_work_is_quiet_at_info_and_shown_at_debug():
    loggers = ("celery.beat", "celery.app.trace", "celery.worker.strategy")
    expression = f"[settings.LOGGING['loggers'][n]['level'] for n in {loggers!r}]"
    assert _settings_in_a_process({"LOG_LEVEL": "INFO"}, expression) == str(["WARNING"] * 3)
    assert _settings_in_a_process({"LOG_LEVEL": "debug"}, expression) == str(["DEBUG"] * 3)
    assert _settings_in_a_process({"LOG_LEVEL": "ERROR"}, expression) == str(["ERROR"] * 3)


def test_celery_uses_djangos_logging():
    # With a setup_logging receiver Celery leaves logging alone: LOG_LEVEL rules worker and beat.
    from celery.signals import setup_logging

    import leadhub.celery  # noqa: F401

    assert any("_django_logging" in repr(receiver) for _, receiver in setup_logging.receivers)


def test_loopback_http_webhooks_are_allowed_by_make_run_only():
    makefile = (ROOT / "Makefile").read_text()
    assert "run: export WEBHOOK_ALLOW_HTTP ?= true" in makefile
    assert "run: export WEBHOOK_ALLOWED_NETWORKS ?= 127.0.0.0/8,::1/128" in makefile
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    text = yaml.safe_dump(compose)
    assert "WEBHOOK_ALLOW_HTTP" not in text and "WEBHOOK_ALLOWED_NETWORKS" not in text


def test_the_procfile_runs_web_worker_beat_and_the_banner():
    procfile = dict(
        line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line and line[0] != "#"
    )
    assert set(procfile) == {"web", "worker", "beat", "banner"}
    assert "127.0.0.1:${LEADHUB_PORT:-8000}" in procfile["web"]
    assert "--pool threads" in procfile["worker"]  # no prefork children to be signalled at Ctrl-C
    assert not any("--loglevel" in command for command in procfile.values())  # LOG_LEVEL rules
