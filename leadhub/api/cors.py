"""CORS for the few public endpoints a browser widget calls, each origin checked per request.

The allowed origins are per brain (so per request, from its bot_id), which a global allow-list
such as django-cors-headers' cannot express without a signal handler that would have to look
the brain up before the body is parsed; these few lines say exactly what is allowed.
"""

from collections.abc import Iterable

from django.http import HttpResponse

ALLOWED_METHODS = "POST, OPTIONS"
ALLOWED_HEADERS = "Content-Type"
PREFLIGHT_MAX_AGE = 600  # seconds a browser may cache the preflight


def normalize_origin(origin: str) -> str:
    return origin.strip().rstrip("/").lower()


def origin_of(request) -> str | None:
    origin = getattr(request, "META", {}).get("HTTP_ORIGIN")
    return normalize_origin(origin) if origin else None


def origin_allowed(origin: str | None, allowed: Iterable[str]) -> bool:
    if not origin:
        return False
    return origin in {normalize_origin(str(item)) for item in allowed if isinstance(item, str)}


def add_cors_headers(response: HttpResponse, *, origin: str | None, allowed: bool, preflight: bool = False):
    """Vary: Origin always (the answer depends on it); the Allow-Origin header only for an
    allowed origin, echoing it (never `*`)."""
    vary = response.get("Vary")
    response["Vary"] = f"{vary}, Origin" if vary and "Origin" not in vary else vary or "Origin"
    if origin and allowed:
        response["Access-Control-Allow-Origin"] = origin
        if preflight:
            response["Access-Control-Allow-Methods"] = ALLOWED_METHODS
            response["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
            response["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE)
    return response
