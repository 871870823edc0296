"""createworkspace NAME: a workspace with an owner, an API key, an OAuth client and a brain."""

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from accounts.models import Plan, Workspace
from accounts.scopes import ALL_SCOPES
from accounts.services import api_key_create, oauth_application_create, owner_create, workspace_create
from messaging.brains.services import brain_create

from .. import credentials as credentials_file


def positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


def provision_workspace(
    *,
    name: str,
    plan_code: str,
    agency_name: str | None = None,
    slug: str | None = None,
    api_rate: int | None = None,
    intake_rate: int | None = None,
) -> dict:
    """Create the workspace and its first credentials in one transaction; return them."""
    with transaction.atomic():
        workspace = workspace_create(
            name=name,
            plan_code=plan_code,
            agency_name=agency_name,
            slug=slug,
            api_rate_per_minute=api_rate,
            intake_rate_per_minute=intake_rate,
        )
        owner = owner_create(workspace=workspace)
        key = api_key_create(workspace=workspace, name="Default key", scopes=ALL_SCOPES, created_by=owner.user)
        # Only the intake scope: the key a form carries in its body or URL (SPEC §5.1).
        intake = api_key_create(workspace=workspace, name="Intake key", scopes=["intake"], created_by=owner.user)
        oauth = oauth_application_create(
            workspace=workspace, name=f"{name} API client", scopes=ALL_SCOPES, created_by=owner.user
        )
        brain = brain_create(workspace=workspace, name=f"{name} assistant", slug="default", is_default=True)
    return {
        "workspace_id": str(workspace.id),
        "api_key": key.secret,
        "intake_key": intake.secret,
        "oauth_client_id": oauth.application.client_id,
        "oauth_client_secret": oauth.client_secret,
        "bot_id": brain.bot_id,
        "owner_username": owner.user.username,
        "owner_password": owner.password,
    }


def print_credentials(command: BaseCommand, credentials: dict, *, as_json: bool) -> None:
    if as_json:
        command.stdout.write(json.dumps(credentials))
        return
    for line in credentials_file.env_lines(credentials):
        command.stdout.write(line)


def write_credentials_file(path: Path, credentials: dict, *, title: str) -> Path | None:
    """Write the env file; a place that cannot be written (a read-only container) is said, not fatal."""
    try:
        return credentials_file.write(path, credentials, title=title)
    except OSError as exc:
        sys.stderr.write(f"Could not write {path}: {exc.strerror}. The credentials are printed above only.\n")
        return None


class Command(BaseCommand):
    help = "Create a workspace with an owner user, an all-scopes API key, an OAuth client and a brain."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--agency", help="Agency name (created if new)")
        parser.add_argument("--plan", default=Plan.BUSINESS, help="Plan code: free, business or enterprise")
        parser.add_argument("--api-rate", type=positive_int, help="API requests per minute (overrides the plan)")
        parser.add_argument("--intake-rate", type=positive_int, help="Intake requests per minute (overrides the plan)")
        parser.add_argument("--json", action="store_true", help="Print the credentials as one JSON object")

    def handle(self, *args, **options) -> None:
        if not Plan.objects.filter(code=options["plan"]).exists():
            codes = ", ".join(Plan.objects.values_list("code", flat=True))
            raise CommandError(f"--plan: no plan {options['plan']!r}; choose one of {codes}")
        credentials = provision_workspace(
            name=options["name"],
            plan_code=options["plan"],
            agency_name=options["agency"],
            api_rate=options["api_rate"],
            intake_rate=options["intake_rate"],
        )
        print_credentials(self, credentials, as_json=options["json"])
        slug = Workspace.objects.values_list("slug", flat=True).get(pk=credentials["workspace_id"])
        path = write_credentials_file(
            credentials_file.workspace_path(slug), credentials, title=f"LeadHub workspace {options['name']!r}"
        )
        if path is not None:
            sys.stderr.write(
                f"Credentials written to {credentials_file.shown(path)} (mode 0600): "
                f"source {credentials_file.shown(path)}\n"
            )
