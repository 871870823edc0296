#!/usr/bin/env python
"""Django's command-line utility for LeadHub."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadhub.settings")
    if sys.argv[1:2] != ["runserver"]:
        # Only what serves pools its connections (leadhub/pool.py): a command (migrate, shell,
        # approle) needs one connection, and with the database down fails at once instead of
        # waiting DATABASE_POOL_TIMEOUT for each try of the pool's.
        os.environ["DATABASE_POOL"] = "false"
    from django.core.management import execute_from_command_line

    from leadhub.tenancy import operator_scope

    # Commands are run by operators and cross workspaces (README: Row-level security); a
    # server started by one (runserver) gives each request its own scope.
    with operator_scope("management_command"):
        execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
