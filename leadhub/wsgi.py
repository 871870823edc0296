"""WSGI entry point: leadhub.wsgi:application (gunicorn)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadhub.settings")

application = get_wsgi_application()

# Import every view now, as the worker boots, not on its first request: Django loads the URLconf
# lazily, and a worker's first requests would all wait on those imports (seconds on a busy
# machine: bench/messaging.py part (b)'s first round) after gunicorn had started sending them.
from django.urls import get_resolver  # noqa: E402 (after Django is set up)

get_resolver().url_patterns  # noqa: B018 (the property imports the URLconf)


# Refuse to serve on a database role that would void row-level security (README); web without
# the admin serves the tenant paths and named lookups only, and refuses the operator role too.
from django.conf import settings  # noqa: E402 (after Django is set up)

from leadhub.postgresql.rls import role_check_at_start  # noqa: E402

role_check_at_start(tenant_only=not settings.ADMIN_ENABLED)
