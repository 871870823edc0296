"""Project-level views: liveness and health probes, and the rate-limited OAuth token endpoint."""

import time
import uuid

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from oauth2_provider.views import TokenView

from leadhub.api.errors import RateLimited
from leadhub.api.ratelimit import public_limit_or_raise

from .celery import app as celery_app

BROKER_TIMEOUT_SECONDS = 2


@require_GET
def livez(request: HttpRequest) -> JsonResponse:
    """The process answers: touches no database, cache or broker."""
    return JsonResponse({"status": "ok"})


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _check_cache() -> None:
    # A round trip with a fresh value: a cache that ignores its errors (as ours does, so
    # that rate limits fail open) would answer None and pass a mere get.
    key, value = f"healthz:{uuid.uuid4().hex}", uuid.uuid4().hex
    cache.set(key, value, 10)
    if cache.get(key) != value:
        raise ConnectionError("the cache did not return what was stored")
    cache.delete(key)


def _check_broker() -> None:
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=BROKER_TIMEOUT_SECONDS)


CHECKS = {"database": _check_database, "cache": _check_cache, "broker": _check_broker}


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when database, cache and broker answer, 503 naming the one that does not."""
    checks, healthy = {}, True
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            check()
        except Exception as exc:  # any failure of a dependency is a finding, not a crash
            healthy = False
            checks[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
        else:
            checks[name] = {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks}, status=200 if healthy else 503
    )


class RateLimitedTokenView(TokenView):
    """django-oauth-toolkit's token endpoint behind the per-IP limit of public endpoints;
    refusals keep RFC 6749's error shape."""

    def post(self, request, *args, **kwargs):
        try:
            public_limit_or_raise(request, group="oauth-token")
        except RateLimited as exc:
            response = JsonResponse({"error": "rate_limited", "error_description": str(exc.detail)}, status=429)
            response["Retry-After"] = str(exc.wait)
            return response
        return super().post(request, *args, **kwargs)
