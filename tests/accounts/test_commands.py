"""createworkspace, bootstrap and setlimits: credentials an operator can use at once."""

import base64
import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from accounts.models import ApiKey, Membership, OAuthApplication, Workspace
from messaging.models import Brain

pytestmark = pytest.mark.django_db
KEYS = {
    "workspace_id",
    "api_key",
    "intake_key",
    "oauth_client_id",
    "oauth_client_secret",
    "bot_id",
    "owner_username",
    "owner_password",
}


def run_json(capsys, *args):
    call_command(*args, "--json")
    return json.loads(capsys.readouterr().out)


def test_createworkspace_prints_credentials_that_work(capsys, client):
    creds = run_json(capsys, "createworkspace", "Acme Dental", "--agency", "Bright", "--plan", "business")
    assert set(creds) == KEYS
    workspace = Workspace.objects.get(pk=creds["workspace_id"])
    assert workspace.agency.name == "Bright"
    assert workspace.plan.code == "business"

    api = client.get("/api/v1/workspace", HTTP_AUTHORIZATION=f"Bearer {creds['api_key']}")
    assert api.json()["id"] == creds["workspace_id"]
    assert len(api.json()["credential"]["scopes"]) == 15

    basic = base64.b64encode(f"{creds['oauth_client_id']}:{creds['oauth_client_secret']}".encode()).decode()
    token = client.post("/o/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=f"Basic {basic}")
    oauth = APIClient()
    oauth.credentials(HTTP_AUTHORIZATION=f"Bearer {token.json()['access_token']}")
    assert oauth.get("/api/v1/workspace").json()["id"] == creds["workspace_id"]

    # The intake key has the intake scope only, so a form may carry it in its body.
    intake = client.post("/api/v1/webhook/forms", {"api_token": creds["intake_key"], "phone_number": "8187405020"})
    assert intake.status_code == 201
    assert ApiKey.objects.get(prefix=creds["intake_key"][: ApiKey.PREFIX_LENGTH]).scopes == ["intake"]
    refused = client.post("/api/v1/webhook/forms", {"api_token": creds["api_key"], "phone_number": "8187405021"})
    assert refused.status_code == 401

    assert Brain.objects.get(bot_id=creds["bot_id"]).workspace == workspace
    assert Membership.objects.get(user__username=creds["owner_username"]).role == "owner"
    assert client.login(username=creds["owner_username"], password=creds["owner_password"])


def test_createworkspace_sets_rate_overrides(capsys, client):
    creds = run_json(capsys, "createworkspace", "Fast", "--api-rate", "5000", "--intake-rate", "9000")
    limits = client.get("/api/v1/workspace", HTTP_AUTHORIZATION=f"Bearer {creds['api_key']}").json()["plan"]["limits"]
    assert limits == {"api_rate_per_minute": 5000, "intake_rate_per_minute": 9000}


def test_createworkspace_refuses_an_unknown_plan():
    with pytest.raises(CommandError, match="--plan"):
        call_command("createworkspace", "X", "--plan", "platinum")
    assert not Workspace.objects.exists()


def test_two_workspaces_of_one_name_get_distinct_slugs_and_owners(capsys):
    first = run_json(capsys, "createworkspace", "Same")
    second = run_json(capsys, "createworkspace", "Same")
    assert first["workspace_id"] != second["workspace_id"]
    assert first["owner_username"] != second["owner_username"]


def test_bootstrap_is_idempotent(capsys):
    first = run_json(capsys, "bootstrap")
    assert set(first) == KEYS and all(first.values())
    second = run_json(capsys, "bootstrap")
    assert second["workspace_id"] == first["workspace_id"]
    assert second["bot_id"] == first["bot_id"]
    assert second["oauth_client_id"] == first["oauth_client_id"]
    assert second == first  # read back from var/credentials.env
    assert Workspace.objects.count() == 1
    assert ApiKey.objects.count() == 2  # the all-scopes key and the intake key
    assert OAuthApplication.objects.count() == 1


def test_the_demo_owner_is_an_operator_only_with_the_demo_flag(capsys, client):
    creds = run_json(capsys, "bootstrap")
    owner = get_user_model().objects.get(username=creds["owner_username"])
    assert not owner.is_superuser and not owner.is_staff
    assert client.login(username=creds["owner_username"], password=creds["owner_password"])
    assert client.get("/admin/accounts/apikey/").status_code == 302


def test_make_runs_demo_owner_can_use_the_admin(capsys, client):
    creds = run_json(capsys, "bootstrap", "--demo-superuser")
    assert client.login(username=creds["owner_username"], password=creds["owner_password"])
    assert client.get("/admin/accounts/apikey/").status_code == 200


def test_setlimits_lifts_and_lowers_limits(capsys):
    creds = run_json(capsys, "createworkspace", "Limits")
    call_command("setlimits", creds["workspace_id"], "--api-rate", "7", "--intake-rate", "8")
    workspace = Workspace.objects.get(pk=creds["workspace_id"])
    assert (workspace.api_rate_per_minute, workspace.intake_rate_per_minute) == (7, 8)
    call_command("setlimits", creds["workspace_id"], "--api-rate", "9")
    workspace.refresh_from_db()
    assert (workspace.api_rate_per_minute, workspace.intake_rate_per_minute) == (9, 8)


@pytest.mark.parametrize(
    "args", [["not-a-uuid", "--api-rate", "5"], ["00000000-0000-0000-0000-000000000000", "--api-rate", "5"]]
)
def test_setlimits_refuses_an_unknown_workspace(args):
    with pytest.raises(CommandError, match="No workspace"):
        call_command("setlimits", *args)


def test_setlimits_needs_a_limit(capsys):
    creds = run_json(capsys, "createworkspace", "Nothing")
    with pytest.raises(CommandError, match="--api-rate"):
        call_command("setlimits", creds["workspace_id"])
