"""bootstrap: the demo workspace, created once; later runs change nothing.

The Django admin is cross-tenant, for operators only (SPEC §1), so the demo's owner becomes a
superuser only with `--demo-superuser`, which `make run` (a machine of one's own) passes and
nothing else should.
"""

import sys

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from accounts.models import Plan, Workspace
from messaging.models import Brain

from .createworkspace import print_credentials, provision_workspace

DEMO_SLUG = "demo"


class Command(BaseCommand):
    help = "Create the demo workspace and print its credentials; idempotent."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print the credentials as one JSON object")
        parser.add_argument(
            "--demo-superuser",
            action="store_true",
            help="Make the demo owner a superuser, who may use the Django admin (make run's local demo only)",
        )

    def handle(self, *args, **options) -> None:
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
            print_credentials(self, credentials, as_json=options["json"])
            return
        # Secrets are kept only as hashes, so they cannot be shown again.
        brain = Brain.objects.filter(workspace=workspace, is_default=True).first()
        credentials = {
            "workspace_id": str(workspace.id),
            "api_key": None,
            "oauth_client_id": workspace.oauth_applications.values_list("client_id", flat=True).first(),
            "oauth_client_secret": None,
            "bot_id": brain.bot_id if brain else None,
            "owner_username": workspace.memberships.filter(role="owner")
            .values_list("user__username", flat=True)
            .first(),
            "owner_password": None,
        }
        sys.stderr.write(
            "The demo workspace exists; its secrets were printed when it was created. "
            "New ones: `python manage.py createworkspace NAME`, or remove var/ to start over.\n"
        )
        print_credentials(self, credentials, as_json=options["json"])
