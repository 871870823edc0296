#!/usr/bin/env python
"""Django's command-line utility for LeadHub."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadhub.settings")
    from django.core.management import execute_from_command_line

    from leadhub.tenancy import operator_scope

    # Commands are run by operators and cross workspaces (README: Row-level security); a
    # server started by one (runserver) gives each request its own scope.
    with operator_scope("management_command"):
        execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
