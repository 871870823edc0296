"""ASGI entry point: leadhub.asgi:application."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadhub.settings")

application = get_asgi_application()

# As leadhub.wsgi: refuse to serve on a database role that would void row-level security.
from django.conf import settings  # noqa: E402 (after Django is set up)

from leadhub.postgresql.rls import role_check_at_start  # noqa: E402

role_check_at_start(tenant_only=not settings.ADMIN_ENABLED)
