"""bootstrap: the demo workspace, created once; later runs change nothing.

The Django admin is cross-tenant, for operators only (SPEC §1), so the demo's owner becomes a
superuser only with `--demo-superuser`, which `make run` (a machine of one's own) passes and
nothing else should.

Its credentials go to var/credentials.env (mode 0600), which later runs point to: the secrets
are stored only as hashes, so the file is where a person finds them again.
"""

import json
import sys

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from accounts.models import Plan, Workspace
from messaging.models import Brain

from .. import credentials as credentials_file
from .createworkspace import print_credentials, provision_workspace, write_credentials_file

DEMO_SLUG = "demo"


class Command(BaseCommand):
    help = "Create the demo workspace, write its credentials to var/credentials.env and print them; idempotent."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print the credentials as one JSON object")
        parser.add_argument(
            "--demo-superuser",
            action="store_true",
            help="Make the demo owner a superuser, who may use the Django admin (make run's local demo only)",
        )

    def handle(self, *args, **options) -> None:
        path = credentials_file.demo_path()
        where = credentials_file.shown(path)
        workspace = Workspace.objects.filter(slug=DEMO_SLUG).first()
        if workspace is None:
            with transaction.atomic():
                credentials = provision_workspace(
                    name="Demo", plan_code=Plan.ENTERPRISE, agency_name="Demo Agency", slug=DEMO_SLUG
                )
                if options["demo_superuser"]:
                    get_user_model().objects.filter(username=credentials["owner_username"]).update(
                        is_staff=True, is_superuser=True
                    )
            written = write_credentials_file(path, credentials, title="LeadHub demo workspace (manage.py bootstrap)")
            if not options["json"]:
                self.stdout.write("Demo workspace created. Its credentials (shown once here; kept in the file):")
            print_credentials(self, credentials, as_json=options["json"])
            if written is not None and not options["json"]:
                self.stdout.write(f"Written to {where} (mode 0600). Load them into your shell: source {where}")
            return

        saved = credentials_file.read(path)
        if saved.get("workspace_id") == str(workspace.id):
            if options["json"]:
                self.stdout.write(json.dumps(saved))
            else:
                self.stdout.write(f"The demo workspace exists; its credentials are in {where}: source {where}")
            return
        # The secrets are kept only as hashes: without the file they cannot be shown again.
        sys.stderr.write(
            f"The demo workspace exists, but {where} is gone and its secrets were shown only once. "
            "A new API key for it: python manage.py createkey --scope contacts:read --scope contacts:write "
            "(any scopes; see --help). To start over with new credentials, remove var/ (this deletes the data).\n"
        )
        brain = Brain.objects.filter(workspace=workspace, is_default=True).first()
        ids = {
            "workspace_id": str(workspace.id),
            "oauth_client_id": workspace.oauth_applications.values_list("client_id", flat=True).first(),
            "bot_id": brain.bot_id if brain else None,
            "owner_username": workspace.memberships.filter(role="owner")
            .values_list("user__username", flat=True)
            .first(),
        }
        print_credentials(self, {key: value for key, value in ids.items() if value}, as_json=options["json"])
