"""Every API path answers with and without its trailing slash (SPEC §4), without a redirect.

Django's APPEND_SLASH answers a slash-less path with a redirect, which loses a POST's body
(`POST /o/token` became a GET of `/o/token/`). Under /api/ and /o/, a path that does not
resolve is tried with its trailing slash added or removed, and when that one resolves the
request is served by it directly. Routes are declared once, in either form.
"""

from django.urls import Resolver404, get_resolver, get_urlconf

PREFIXES = ("/api/", "/o/")


class OptionalSlashMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        if path.startswith(PREFIXES) and len(path) > 1:
            resolver = get_resolver(getattr(request, "urlconf", None) or get_urlconf())
            try:
                resolver.resolve(path)
            except Resolver404:
                other = path[:-1] if path.endswith("/") else f"{path}/"
                try:
                    resolver.resolve(other)
                except Resolver404:
                    pass
                else:
                    request.path_info = other
                    script = request.path[: len(request.path) - len(path)] if request.path.endswith(path) else ""
                    request.path = f"{script}{other}"
        return self.get_response(request)
