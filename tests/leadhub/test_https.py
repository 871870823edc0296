"""Served over https behind a TLS terminator: plain http redirected (the probes exempt), HSTS sent,
cookies secure; all derived from PUBLIC_BASE_URL and TRUST_X_FORWARDED_PROTO at start-up."""

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings as django_settings

pytestmark = pytest.mark.django_db

PRINT_SETTINGS = (
    "import json, django; from django.conf import settings; django.setup(); print(json.dumps({name: "
    "getattr(settings, name) for name in ('SECURE_SSL_REDIRECT', 'SECURE_HSTS_SECONDS', "
    "'SECURE_HSTS_INCLUDE_SUBDOMAINS', 'SECURE_HSTS_PRELOAD', 'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE')}))"
)


def _settings_with(tmp_path, **env) -> dict:
    base = {"PATH": os.environ.get("PATH", ""), "DJANGO_SETTINGS_MODULE": "leadhub.settings"}
    base.update(SECRET_KEY="x" * 50, LEADHUB_VAR_DIR=str(tmp_path / "var"), **env)
    result = subprocess.run(
        [sys.executable, "-c", PRINT_SETTINGS],
        cwd=django_settings.BASE_DIR,
        env=base,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_https_behind_a_trusted_terminator_turns_every_protection_on(tmp_path):
    values = _settings_with(tmp_path, PUBLIC_BASE_URL="https://crm.example.com", TRUST_X_FORWARDED_PROTO="true")
    assert values == {
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31_536_000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
    }


def test_https_without_a_trusted_scheme_header_does_not_redirect_for_ever(tmp_path):
    # A tunnel in front of make run: every request would look like http and be redirected again.
    values = _settings_with(tmp_path, PUBLIC_BASE_URL="https://abc.tunnel.example")
    assert values["SECURE_SSL_REDIRECT"] is False
    assert values["SESSION_COOKIE_SECURE"] is True


def test_the_embedded_default_serves_plain_http(tmp_path):
    values = _settings_with(tmp_path)
    assert values["SECURE_SSL_REDIRECT"] is False
    assert values["SECURE_HSTS_SECONDS"] == 0


@pytest.fixture
def behind_tls(settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True


def test_plain_http_is_redirected_and_https_gets_hsts(client, behind_tls):
    redirected = client.get("/api/v1/workspace")
    assert redirected.status_code == 301
    assert redirected["Location"] == "https://testserver/api/v1/workspace"
    served = client.get("/api/v1/workspace", HTTP_X_FORWARDED_PROTO="https")
    assert served.status_code == 401  # reached the API (no credential)
    assert served["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"


@pytest.mark.parametrize("path", ["/livez", "/healthz"])
def test_the_probes_answer_over_plain_http(client, behind_tls, path):
    assert client.get(path).status_code in {200, 503}  # answered, not redirected
