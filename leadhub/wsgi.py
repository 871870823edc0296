"""WSGI entry point: leadhub.wsgi:application (gunicorn)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadhub.settings")

application = get_wsgi_application()


# Refuse to serve on a database role that would void row-level security (README).
from leadhub.postgresql.rls import role_check_at_start  # noqa: E402 (after Django is set up)

role_check_at_start()
