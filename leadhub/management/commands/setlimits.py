"""setlimits WORKSPACE_ID: lift or lower a workspace's API and intake rate limits."""

import uuid

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Workspace
from accounts.services import workspace_set_limits

from .createworkspace import positive_int


class Command(BaseCommand):
    help = "Set a workspace's rate limits (requests per minute), overriding its plan's."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("workspace_id")
        parser.add_argument("--api-rate", type=positive_int)
        parser.add_argument("--intake-rate", type=positive_int)

    def handle(self, *args, **options) -> None:
        try:
            workspace = Workspace.objects.select_related("plan").get(pk=uuid.UUID(options["workspace_id"]))
        except (ValueError, Workspace.DoesNotExist):
            raise CommandError(f"No workspace {options['workspace_id']!r}") from None
        if options["api_rate"] is None and options["intake_rate"] is None:
            raise CommandError("Give --api-rate, --intake-rate or both")
        workspace_set_limits(
            workspace=workspace,
            api_rate_per_minute=options["api_rate"],
            intake_rate_per_minute=options["intake_rate"],
        )
        self.stdout.write(
            f"{workspace.name}: api {workspace.api_rate_per_minute}/min, intake {workspace.intake_rate_per_minute}/min"
        )
