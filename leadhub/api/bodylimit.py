"""The size limit of a request body, checked from its Content-Length before anything reads it.

Django checks DATA_UPLOAD_MAX_MEMORY_SIZE only when `request.body` or `request.POST` is read,
and DRF's parsers read the raw stream, so a JSON body of any size would be parsed whole. Here
every request to the API (`/api/`) and the OAuth endpoints (`/o/`) whose Content-Length is over
the limit is answered 413 at once, with the envelope (RFC 6749's shape under `/o/`). A view
that takes larger bodies names the setting of its own limit (`max_request_bytes_setting`: the
campaigns' CAMPAIGN_MAX_REQUEST_BYTES).
"""

from django.conf import settings
from django.http import HttpRequest
from rest_framework.exceptions import ParseError

from .errors import client_error_response, payload_too_large

DEFAULT_LIMIT_SETTING = "DATA_UPLOAD_MAX_MEMORY_SIZE"


class BodySizeLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        raw = request.META.get("CONTENT_LENGTH")
        if not raw:
            return None
        try:
            length = int(raw)
        except ValueError:
            return client_error_response(request, ParseError("Content-Length is not a number."))
        setting = getattr(getattr(view_func, "cls", None), "max_request_bytes_setting", DEFAULT_LIMIT_SETTING)
        limit = getattr(settings, setting)
        if limit is not None and length > limit:
            return client_error_response(request, payload_too_large(limit))
        return None
