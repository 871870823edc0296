"""Every API path answers with and without its trailing slash (SPEC §4), without a redirect.

Django's APPEND_SLASH answers a slash-less path with a redirect, which loses a POST's body
(`POST /o/token` became a GET of `/o/token/`). Under /api/ and /o/, a path that does not
resolve is tried with its trailing slash added or removed, and when that one resolves the
request is served by it directly. Routes are declared once, in either form.
"""

import functools

from django.conf import settings
from django.urls import Resolver404, get_resolver, get_urlconf

PREFIXES = ("/api/", "/o/")


@functools.lru_cache(maxsize=4096)
def _other_form(urlconf, path: str) -> str | None:
    """The path with its trailing slash added or removed when only that form resolves, else
    None. Remembered per path: resolving costs a tenth of a small API request, and Django
    resolves the path again to serve it."""
    resolver = get_resolver(urlconf)
    try:
        resolver.resolve(path)
    except Resolver404:
        other = path[:-1] if path.endswith("/") else f"{path}/"
        try:
            resolver.resolve(other)
        except Resolver404:
            return None
        return other
    return None


class OptionalSlashMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        if path.startswith(PREFIXES) and len(path) > 1:
            urlconf = getattr(request, "urlconf", None) or get_urlconf() or settings.ROOT_URLCONF
            other = _other_form(urlconf, path)
            if other is not None:
                request.path_info = other
                script = request.path[: len(request.path) - len(path)] if request.path.endswith(path) else ""
                request.path = f"{script}{other}"
        return self.get_response(request)
