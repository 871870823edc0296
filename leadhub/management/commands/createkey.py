"""createkey: a new API key for a workspace (the demo one by default), with only the scopes asked for."""

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Workspace
from accounts.scopes import SCOPES
from accounts.services import api_key_create

from .bootstrap import DEMO_SLUG


class Command(BaseCommand):
    help = (
        "Create an API key for a workspace (default: the demo workspace of make run) with the scopes given, "
        "and print it once. Scopes: " + ", ".join(SCOPES) + "."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--scope",
            action="append",
            dest="scopes",
            default=[],
            metavar="SCOPE",
            help="A scope the key gets (repeat for more); at least one. Keys get only what is asked for.",
        )
        parser.add_argument("--workspace", default=DEMO_SLUG, help="Workspace id or slug (default: demo)")
        parser.add_argument("--name", default="Command-line key", help="A name to recognise the key by")
        parser.add_argument("--json", action="store_true", help="Print id, name, prefix, scopes and the key as JSON")

    def handle(self, *args, **options) -> None:
        scopes = list(dict.fromkeys(scope.strip() for scope in options["scopes"]))
        if not scopes:
            raise CommandError("Give at least one --scope (keys get only the scopes asked for): " + ", ".join(SCOPES))
        unknown = [scope for scope in scopes if scope not in SCOPES]
        if unknown:
            raise CommandError(f"--scope: unknown {', '.join(unknown)}; choose from {', '.join(SCOPES)}")
        workspace = _workspace(options["workspace"])
        new = api_key_create(workspace=workspace, name=options["name"][:100], scopes=scopes)
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "id": str(new.api_key.id),
                        "workspace_id": str(workspace.id),
                        "name": new.api_key.name,
                        "prefix": new.api_key.prefix,
                        "scopes": scopes,
                        "api_key": new.secret,
                    }
                )
            )
        else:
            self.stdout.write(new.secret)


def _workspace(ref: str) -> Workspace:
    workspace = Workspace.objects.filter(slug=ref).first()
    if workspace is None:
        try:
            workspace = Workspace.objects.filter(pk=ref).first()
        except (ValueError, ValidationError):  # not a UUID
            workspace = None
    if workspace is None:
        hint = " Run make run (or manage.py bootstrap) first." if ref == DEMO_SLUG else ""
        raise CommandError(f"--workspace: no workspace {ref!r}.{hint}")
    return workspace
