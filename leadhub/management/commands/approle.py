"""approle [ROLE]: the database role the app serves as, granted the tables (README: Row-level
security). Run after `migrate`, as the tables' owner."""

import os

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from leadhub.postgresql import rls


class Command(BaseCommand):
    help = (
        "Create (NOLOGIN, unless it exists) and grant the role the app serves as: the data of every "
        "table and sequence, now and after later migrations. PostgreSQL only; run as the owner."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("role", nargs="?", default="leadhub_app")
        parser.add_argument(
            "--password-env",
            metavar="VARIABLE",
            help="an environment variable holding the role's password: the role may then log in with it",
        )

    def handle(self, *args, **options) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("approle is for PostgreSQL; on SQLite the ORM filters are the wall")
        password = None
        if options["password_env"]:
            password = os.environ.get(options["password_env"], "")
            if not password:
                raise CommandError(f"{options['password_env']} is not set")
        rls.app_role_grant(connection, options["role"], password=password)
        self.stdout.write(f"role {options['role']} granted the tables of {connection.settings_dict['NAME']}")
