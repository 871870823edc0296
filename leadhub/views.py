"""Project-level views: liveness and health probes, the rate-limited OAuth token endpoint, and
the OpenAPI schema built once per process."""

import base64
import logging
import threading
import time
import uuid
from urllib.parse import unquote_plus

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import get_urlconf
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from drf_spectacular.views import SpectacularAPIView
from oauth2_provider.views import RevokeTokenView, TokenView

from leadhub.api.errors import LimitsUnavailable, RateLimited, oauth_error
from leadhub.api.ratelimit import public_limit_or_raise

from .celery import app as celery_app
from .lookups import found_scope
from .postgresql.rls import role_problems

BROKER_TIMEOUT_SECONDS = 2
logger = logging.getLogger(__name__)


@require_GET
def livez(request: HttpRequest) -> JsonResponse:
    """The process answers: touches no database, cache or broker."""
    return JsonResponse({"status": "ok"})


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    # Down, too, on a role that would void row-level security (README: Row-level security).
    problems = role_problems(connection, tenant_only=not settings.ADMIN_ENABLED)
    if problems:
        raise PermissionError("; ".join(problems))


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


def _is_operator(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_active and user.is_superuser)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when database, cache and broker answer, 503 naming the one that does not.

    The public learns only "up" or "down" per part; what failed and how long each check took
    (hosts, ports, driver messages) go to the log, and to operators (superusers logged in)
    under `details`."""
    checks, details, healthy = {}, {}, True
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            check()
        except Exception as exc:  # any failure of a dependency is a finding, not a crash
            healthy = False
            error = f"{type(exc).__name__}: {exc}"[:300]
            logger.warning("healthz: the %s is down: %s", name, error)
            checks[name], details[name] = "down", {"ok": False, "error": error}
        else:
            checks[name] = "up"
            details[name] = {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}
    body: dict = {"status": "ok" if healthy else "unavailable", "checks": checks}
    if _is_operator(request):
        body["details"] = details
    return JsonResponse(body, status=200 if healthy else 503)


def _client_id(request: HttpRequest) -> str:
    """The client_id a token request names (HTTP Basic, RFC 6749 §2.3.1, or the body), only to
    count it by; authenticating it is django-oauth-toolkit's."""
    scheme, _, encoded = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return ""
        return unquote_plus(decoded.partition(":")[0])[:200]
    return str(request.POST.get("client_id", ""))[:200]


class RateLimitedTokenView(TokenView):
    """django-oauth-toolkit's token endpoint behind the per-IP limit of public endpoints, counted
    per client address and client_id; with the cache down it is refused (503) rather than open
    to password guessing. Refusals keep RFC 6749's error shape."""

    def post(self, request, *args, **kwargs):
        try:
            public_limit_or_raise(request, group="oauth-token", within=f"client:{_client_id(request)}", write=True)
        except RateLimited as exc:
            response = oauth_error("rate_limited", str(exc.detail), 429)
            response["Retry-After"] = str(exc.wait)
            return response
        except LimitsUnavailable as exc:
            response = oauth_error("temporarily_unavailable", str(exc.detail), 503)
            response["Retry-After"] = str(exc.wait)
            return response
        with _client_workspace(request):
            return super().post(request, *args, **kwargs)


class ScopedRevokeTokenView(RevokeTokenView):
    """django-oauth-toolkit's revocation: the client authenticates, and the token it revokes is
    found among its application's, in the application's workspace."""

    def post(self, request, *args, **kwargs):
        with _client_workspace(request):
            return super().post(request, *args, **kwargs)


def _client_workspace(request):
    """The application a token request names, found by its client_id before the workspace is
    known (the named lookup of row-level security): django-oauth-toolkit then authenticates it,
    and stores or revokes its token, in its workspace. An unknown client_id is answered by
    django-oauth-toolkit itself (invalid_client), seeing no application."""
    return found_scope("oauth_application_by_client_id", _client_id(request))


class SchemaView(SpectacularAPIView):
    """`/api/schema/`: the OpenAPI schema, built and rendered once per process, URLconf,
    language and format (the API has one version). It changes only with the code, and building it costs a
    second of CPU that anyone could otherwise ask for again and again."""

    _built: dict[tuple, tuple[bytes, str, str]] = {}
    _lock = threading.Lock()

    def _get_schema_response(self, request):
        # Only what the server decides is in the key (never a client's ?version= or Accept
        # parameters), so the cache holds a handful of entries whatever anyone asks for.
        renderer = request.accepted_renderer
        media_type = renderer.media_type
        key = (
            str(getattr(request, "urlconf", None) or get_urlconf() or settings.ROOT_URLCONF),
            self.api_version,
            translation.get_language(),
            renderer.format,
        )
        built = self._built.get(key)
        if built is None:
            with self._lock:
                built = self._built.get(key)
                if built is None:
                    response = super()._get_schema_response(request)
                    content = renderer.render(response.data, media_type, self.get_renderer_context())
                    content_type = f"{media_type}; charset={renderer.charset}" if renderer.charset else media_type
                    built = self._built[key] = (content, content_type, response["Content-Disposition"])
        content, content_type, disposition = built
        response = HttpResponse(content, content_type=content_type)
        response["Content-Disposition"] = disposition
        response["Cache-Control"] = "public, max-age=300"
        return response
