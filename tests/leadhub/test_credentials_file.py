"""The credentials a person can use: bootstrap and createworkspace write them to an env file
(0600 from the start) that a shell sources; a second bootstrap points to it; createkey mints a
key with only the scopes asked for."""

import json
import os
import stat
import subprocess

import pytest
from django.core.management import CommandError, call_command

from accounts.models import ApiKey, Workspace

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def var_dir(tmp_path, settings, monkeypatch):
    settings.VAR_DIR = tmp_path / "var"
    monkeypatch.chdir(tmp_path)
    return settings.VAR_DIR


def sourced(path, *names):
    """The values a shell gets from `source path`."""
    script = f"set -eu; . ./{path}; " + "; ".join(f'printf "%s\\n" "${name}"' for name in names)
    return subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True).stdout.splitlines()


def test_bootstrap_writes_a_0600_file_that_a_shell_sources(capsys, client, var_dir):
    call_command("bootstrap")
    out = capsys.readouterr().out
    path = var_dir / "credentials.env"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "source var/credentials.env" in out

    api_key, bot_id, workspace_id = sourced("var/credentials.env", "API_KEY", "BOT_ID", "WORKSPACE_ID")
    assert api_key.startswith("lh_") and f"export API_KEY={api_key}" in out
    response = client.get("/api/v1/workspace", HTTP_AUTHORIZATION=f"Bearer {api_key}")
    assert response.status_code == 200
    assert response.json()["id"] == workspace_id
    assert bot_id


def test_the_file_holds_every_credential_printed(capsys, var_dir):
    call_command("bootstrap", "--json")
    printed = json.loads(capsys.readouterr().out)
    names = [key.upper() for key in printed]
    assert dict(zip(printed, sourced("var/credentials.env", *names), strict=True)) == printed


def test_the_file_is_never_readable_by_others_even_while_written(var_dir, monkeypatch):
    # The file is born 0600 (mkstemp), whatever the umask: no window where others may read it.
    old = os.umask(0)
    try:
        call_command("bootstrap", "--json")
    finally:
        os.umask(old)
    assert stat.S_IMODE((var_dir / "credentials.env").stat().st_mode) == 0o600


def test_a_second_bootstrap_points_to_the_file_and_prints_no_none(capsys, var_dir):
    call_command("bootstrap")
    capsys.readouterr()
    call_command("bootstrap")
    out = capsys.readouterr().out
    assert "None" not in out and "lh_" not in out
    expected = "The demo workspace exists; its credentials are in var/credentials.env: source var/credentials.env"
    assert out.strip() == expected
    assert Workspace.objects.count() == 1 and ApiKey.objects.count() == 2  # the all-scopes and the intake key


def test_a_second_bootstrap_json_gives_the_same_credentials(capsys):
    call_command("bootstrap", "--json")
    first = json.loads(capsys.readouterr().out)
    call_command("bootstrap", "--json")
    assert json.loads(capsys.readouterr().out) == first


def test_without_the_file_a_second_bootstrap_says_how_to_get_a_key(capsys, var_dir):
    call_command("bootstrap", "--json")
    first = json.loads(capsys.readouterr().out)
    (var_dir / "credentials.env").unlink()
    call_command("bootstrap", "--json")
    captured = capsys.readouterr()
    again = json.loads(captured.out)
    assert again == {key: first[key] for key in ("workspace_id", "oauth_client_id", "bot_id", "owner_username")}
    assert "manage.py createkey" in captured.err
    assert "None" not in captured.out + captured.err


def test_createworkspace_writes_its_own_file_beside_the_demo_one(capsys, var_dir):
    call_command("bootstrap", "--json")
    demo = (var_dir / "credentials.env").read_text()
    call_command("createworkspace", "Acme Dental", "--json")
    captured = capsys.readouterr()
    creds = json.loads(captured.out.splitlines()[-1])
    path = var_dir / f"credentials-{Workspace.objects.get(pk=creds['workspace_id']).slug}.env"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert f"source {path.relative_to(var_dir.parent)}" in captured.err
    (api_key,) = sourced(path.relative_to(var_dir.parent), "API_KEY")
    assert api_key == creds["api_key"]
    assert (var_dir / "credentials.env").read_text() == demo


def test_values_are_quoted_for_the_shell(var_dir):
    from leadhub.management import credentials

    path = credentials.write(var_dir / "x.env", {"owner_password": "a b'c$HOME;`x`"}, title="test")
    assert sourced(path.relative_to(var_dir.parent), "OWNER_PASSWORD") == ["a b'c$HOME;`x`"]
    assert credentials.read(path) == {"owner_password": "a b'c$HOME;`x`"}


def test_createkey_mints_a_key_with_only_the_scopes_asked_for(capsys, client):
    call_command("bootstrap", "--json")
    capsys.readouterr()
    call_command("createkey", "--scope", "contacts:read")
    secret = capsys.readouterr().out.strip()
    api = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    body = client.get("/api/v1/workspace", **api).json()
    assert body["credential"]["scopes"] == ["contacts:read"]
    assert client.get("/api/v1/contacts", **api).status_code == 200
    assert client.post("/api/v1/tags", {"name": "x"}, content_type="application/json", **api).status_code == 403


def test_createkey_json_and_another_workspace(capsys):
    call_command("createworkspace", "Other", "--json")
    other = json.loads(capsys.readouterr().out)
    scopes = ["--scope", "intake", "--scope", "stats:read"]
    call_command("createkey", "--workspace", other["workspace_id"], *scopes, "--json")
    key = json.loads(capsys.readouterr().out)
    assert key["workspace_id"] == other["workspace_id"]
    assert key["scopes"] == ["intake", "stats:read"]
    assert ApiKey.objects.get(pk=key["id"]).prefix == key["api_key"][: len(key["prefix"])]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "at least one --scope"),
        (["--scope", "contacts:raed"], "unknown contacts:raed"),
        (["--scope", "intake", "--workspace", "nope"], "no workspace 'nope'"),
        (["--scope", "intake"], "Run make run"),
    ],
)
def test_createkey_refusals_say_what_to_do(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("createkey", *args)
    assert not ApiKey.objects.exists()
