"""WSGI entry point: leadhub.wsgi:application (gunicorn)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadhub.settings")

application = get_wsgi_application()

# What follows runs where the app is loaded: gunicorn's master (gunicorn.conf.py preloads it),
# once, before the workers are forked and before anything is served.

# Import every view now, not on a first request: Django loads the URLconf lazily, and the first
# requests would all wait on those imports (seconds on a busy machine: bench/messaging.py part
# (b)'s first round).
from django.urls import get_resolver  # noqa: E402 (after Django is set up)

get_resolver().url_patterns  # noqa: B018 (the property imports the URLconf)

# The API's contracts too (strict input, leadhub/api/strict.py: every operation's OpenAPI
# description), which the first API request would otherwise build (1-2 s on a busy machine).
import logging  # noqa: E402

from django.conf import settings  # noqa: E402 (after Django is set up)

from leadhub.api.strict import contracts_for  # noqa: E402

try:
    contracts_for(settings.ROOT_URLCONF)
except Exception:  # the first request builds them again and shows what is wrong
    logging.getLogger(__name__).exception("Could not build the API contracts at boot")


# Refuse to serve on a database role that would void row-level security (README); web without
# the admin serves the tenant paths and named lookups only, and refuses the operator role too.
from leadhub.postgresql.rls import role_check_at_start  # noqa: E402

role_check_at_start(tenant_only=not settings.ADMIN_ENABLED)

# The check's pool, if it opened one, closed here: a pool's threads do not survive the fork and
# its connections must not be shared with the workers, which open their own (leadhub/pool.py).
from leadhub.pool import pool_close  # noqa: E402

pool_close()

# The model's client (messaging/ai/client.py) with what it imports on first use, now rather than on a
# worker's first model call, which would hold up the worker's other threads meanwhile.
from messaging.ai import client_warm  # noqa: E402

client_warm()

# Everything loaded so far lives as long as the process: out of the garbage collector's full
# collections from now on (leadhub.web_worker.settle_heap), here, before gunicorn forks the
# workers. Otherwise each worker's first requests paid a full collection of these ~300,000
# objects (170 ms to 1.4 s, every thread of the worker stalled: part (b)'s first round, traced),
# which also wrote to every page a worker shares with the master.
from leadhub.web_worker import settle_heap  # noqa: E402

settle_heap()
