"""The shell: `/`, log in and out, the workspace switcher, static files and cookie settings."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from accounts.services import membership_set, workspace_create

from .conftest import logged_in

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def test_nobody_logged_in_goes_from_slash_to_the_login_page(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/login/"
    page = client.get("/login/").content.decode()
    # The front door's links for developers and operators live on the login page.
    for link in ("/api/docs/", "/healthz", "/admin/"):
        assert f'href="{link}"' in page


def test_a_person_goes_from_slash_to_their_first_workspace(owner_a, workspace_a):
    response = logged_in(owner_a).get("/")
    assert response["Location"] == f"/w/{workspace_a.pk}/leads/"


def test_a_person_without_a_workspace_is_told_so(django_user_model):
    user = django_user_model.objects.create_user(username="lonely", password="lonely-pass")
    response = logged_in(user).get("/")
    assert response.status_code == 200
    assert b"You are not in any workspace yet" in response.content


def test_log_in_with_the_form_and_out_with_a_post(owner_a, workspace_a):
    client = Client(enforce_csrf_checks=True)
    page = client.get(f"/login/?next=/w/{workspace_a.pk}/stats/")
    token = page.context["csrf_token"]
    wrong = client.post("/login/", {"username": "owner-a", "password": "nope", "csrfmiddlewaretoken": token})
    assert wrong.status_code == 200 and b"did not match" in wrong.content
    response = client.post(
        "/login/",
        {
            "username": "owner-a",
            "password": "owner-a-pass",
            "next": f"/w/{workspace_a.pk}/stats/",
            "csrfmiddlewaretoken": client.cookies["csrftoken"].value,
        },
    )
    assert response.status_code == 302 and response["Location"] == f"/w/{workspace_a.pk}/stats/"
    assert client.get(f"/w/{workspace_a.pk}/stats/").status_code == 200
    # A link cannot log anyone out: GET is refused, POST with the token works.
    assert client.get("/logout/").status_code == 405
    page = client.get(f"/w/{workspace_a.pk}/stats/")
    out = client.post("/logout/", {"csrfmiddlewaretoken": page.context["csrf_token"]})
    assert out.status_code == 302 and out["Location"] == "/login/"
    assert client.get(f"/w/{workspace_a.pk}/stats/").status_code == 302


def test_login_is_rate_limited_per_address(client, settings, owner_a):
    settings.PUBLIC_RATE_PER_MINUTE = 3
    for _ in range(3):
        assert client.post("/login/", {"username": "owner-a", "password": "guess"}).status_code == 200
    response = client.post("/login/", {"username": "owner-a", "password": "owner-a-pass"})
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0


def test_the_switcher_lists_every_workspace_the_person_may_enter(owner_a, workspace_a):
    second = workspace_create(name="Second Client")
    membership_set(workspace=second, user=owner_a, role="agent")
    workspace_create(name="Not Mine")
    page = logged_in(owner_a).get(f"/w/{workspace_a.pk}/leads/").content.decode()
    switcher = page[page.index("data-switcher") : page.index("</details>")]
    assert f'href="/w/{second.pk}/"' in switcher and "Acme Dental" in switcher
    assert "Not Mine" not in switcher


def test_agents_do_not_see_admin_pages_in_the_menu(agent_a, owner_a, workspace_a):
    agent_page = logged_in(agent_a).get(f"/w/{workspace_a.pk}/leads/").content.decode()
    owner_page = logged_in(owner_a).get(f"/w/{workspace_a.pk}/leads/").content.decode()
    assert f"/w/{workspace_a.pk}/keys/" not in agent_page and f"/w/{workspace_a.pk}/webhooks/" not in agent_page
    assert f"/w/{workspace_a.pk}/keys/" in owner_page and f"/w/{workspace_a.pk}/webhooks/" in owner_page


def test_pages_work_at_375px_and_by_keyboard(owner_a, workspace_a):
    page = logged_in(owner_a).get(f"/w/{workspace_a.pk}/leads/").content.decode()
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert 'href="#main"' in page and 'id="main"' in page  # skip link
    assert "data-search" in page  # "/" focuses it


def test_htmx_and_chartjs_are_served_from_our_own_static_files(client):
    for name in ("vendor/htmx.min.js", "vendor/chart.umd.min.js", "web/app.css", "web/app.js"):
        response = client.get(f"/static/{name}")
        assert response.status_code == 200, name
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert len(body) > 100


def test_the_vendored_versions_are_the_pinned_ones():
    import json

    pinned = json.loads((ROOT / "package.json").read_text())["dependencies"]
    htmx = (ROOT / "leadhub/web/static/vendor/htmx.min.js").read_text()
    assert f'version:"{pinned["htmx.org"]}"' in htmx.replace(" ", "")
    chart = (ROOT / "leadhub/web/static/vendor/chart.umd.min.js").read_text()
    assert f"Chart.js v{pinned['chart.js']}" in chart


def test_the_vendored_files_are_committed_with_their_sums():
    """`make run` needs only Python: the files are in the repository, as `make vendor` took them."""
    import hashlib
    import subprocess

    vendor = ROOT / "leadhub/web/static/vendor"
    sums = dict(line.split()[::-1] for line in (vendor / "SHA256SUMS").read_text().splitlines())
    assert set(sums) == {"htmx.min.js", "chart.umd.min.js"}
    for name, digest in sums.items():
        assert hashlib.sha256((vendor / name).read_bytes()).hexdigest() == digest, name
    tracked = subprocess.run(
        ["git", "ls-files", "leadhub/web/static/vendor"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert {f"leadhub/web/static/vendor/{name}" for name in sums} <= set(tracked)


@pytest.mark.parametrize(
    ("env", "secure"),
    [
        ({"PUBLIC_BASE_URL": "https://crm.example.com"}, True),
        ({"PUBLIC_BASE_URL": "http://localhost:8000"}, False),
        ({}, False),
        ({"PUBLIC_BASE_URL": "https://crm.example.com", "SECURE_COOKIES": "false"}, False),
    ],
)
def test_cookies_are_secure_when_the_public_url_is_https(env, secure, tmp_path):
    environment = {
        **{k: v for k, v in os.environ.items() if k not in ("PUBLIC_BASE_URL", "SECURE_COOKIES")},
        **env,
        "SECRET_KEY": "test",
        "LEADHUB_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "leadhub.settings",
    }
    code = "from django.conf import settings as s; print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE)"
    result = subprocess.run(
        [sys.executable, "-c", code], env=environment, cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == [str(secure), str(secure)]
