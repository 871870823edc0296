"""The one error envelope of SPEC §4, for DRF's exceptions and for Django's own 400/403/404/500.

    {"error": {"code": "VALIDATION_ERROR", "message": "...", "details": {"email": ["..."]}}}

Views raise; nothing builds an error body by hand.
"""

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import (
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response

from leadhub import exceptions as domain
from leadhub.exceptions import Invalid, NotAllowed, TooMany

logger = logging.getLogger(__name__)


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "A request with this Idempotency-Key is still being processed. Retry later."
    default_code = "CONFLICT"

    def __init__(self, detail=None, code=None, details: dict | None = None):
        super().__init__(detail, code)
        self.details = details or {}  # e.g. {"id": ...} of the object that already exists


class IdempotencyKeyReused(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "This Idempotency-Key was used with a different request."
    default_code = "IDEMPOTENCY_KEY_REUSED"


class RateLimited(exceptions.Throttled):
    default_code = "RATE_LIMITED"

    def __init__(self, wait: int, message: str | None = None):
        wait = max(1, int(wait))
        detail = f"{message} Retry in {wait} seconds." if message else f"Rate limit exceeded. Retry in {wait} seconds."
        super().__init__(wait=wait, detail=detail)


class LimitsUnavailable(exceptions.APIException):
    """The rate limits cannot count (the cache is down): an anonymous write is refused rather
    than let through unlimited."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "This service is briefly unavailable. Retry in a few seconds."
    default_code = "SERVICE_UNAVAILABLE"
    wait = 5


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "PAYLOAD_TOO_LARGE"


def payload_too_large(limit: int | None) -> PayloadTooLarge:
    if limit is None:
        return PayloadTooLarge()
    return PayloadTooLarge(f"The request body is too large: at most {limit} bytes.")


def request_exception(exc: SuspiciousOperation) -> exceptions.APIException:
    """What Django raises while reading a client's body, as the client's error: a body over
    DATA_UPLOAD_MAX_MEMORY_SIZE is 413, more fields or files than Django reads is 400."""
    if isinstance(exc, RequestDataTooBig):
        message = str(exc)
        if not message or "settings." in message:  # Django's own names a setting, not a size
            return payload_too_large(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        return PayloadTooLarge(message)
    if isinstance(exc, TooManyFieldsSent):
        return exceptions.ParseError(f"The request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} fields.")
    if isinstance(exc, TooManyFilesSent):
        return exceptions.ParseError(f"The request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FILES} files.")
    return exceptions.ParseError("The request could not be understood.")


_CODES = {
    exceptions.ParseError: "BAD_REQUEST",
    exceptions.ValidationError: "VALIDATION_ERROR",
    exceptions.AuthenticationFailed: "UNAUTHORIZED",
    exceptions.NotAuthenticated: "UNAUTHORIZED",
    exceptions.PermissionDenied: "FORBIDDEN",
    exceptions.NotFound: "NOT_FOUND",
    exceptions.MethodNotAllowed: "METHOD_NOT_ALLOWED",
    exceptions.NotAcceptable: "NOT_ACCEPTABLE",
    exceptions.UnsupportedMediaType: "UNSUPPORTED_MEDIA_TYPE",
    exceptions.Throttled: "RATE_LIMITED",
}


def error_body(code: str, message: str, details: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def _code_for(exc: exceptions.APIException) -> str:
    for cls in type(exc).__mro__:
        if cls in _CODES:
            return _CODES[cls]
    default = getattr(exc, "default_code", "")
    return default if default.isupper() else "BAD_REQUEST" if exc.status_code < 500 else "SERVER_ERROR"


def _validation_details(detail) -> dict:
    if isinstance(detail, dict):
        return {field: _as_messages(value) for field, value in detail.items()}
    return {"non_field_errors": _as_messages(detail)}


def _as_messages(value):
    if isinstance(value, dict):
        return {key: _as_messages(inner) for key, inner in value.items()}
    if isinstance(value, list):
        if all(not isinstance(item, (dict, list)) for item in value):
            return [str(item) for item in value]
        return [_as_messages(item) for item in value]
    return [str(value)]


def _validation_message(details: dict) -> str:
    fields = [field for field in details if field != "non_field_errors"]
    if fields:
        return f"Invalid value for: {', '.join(fields)}."
    messages = details.get("non_field_errors") or ["The request is invalid."]
    first = messages[0] if isinstance(messages, list) and messages else messages
    return str(first)


def exception_handler(exc: Exception, context: dict) -> Response:
    if isinstance(exc, domain.Conflict):  # AlreadyExists too: it names the field and the id
        exc = Conflict(exc.message, details=exc.details)
    elif isinstance(exc, Invalid):
        exc = exceptions.ValidationError(exc.errors)
    elif isinstance(exc, NotAllowed):
        exc = exceptions.PermissionDenied(exc.message)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound("Not found.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, SuspiciousOperation):
        exc = request_exception(exc)
    elif isinstance(exc, TooMany):
        exc = RateLimited(wait=exc.retry_after, message=exc.message)

    if not isinstance(exc, exceptions.APIException):
        request = context.get("request")
        logger.exception("Unhandled error in %s", getattr(request, "path", "?"), exc_info=exc)
        return Response(
            error_body("SERVER_ERROR", "Something went wrong on our side. It has been logged."),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )

    code = _code_for(exc)
    if isinstance(exc, exceptions.ValidationError):
        details = _validation_details(exc.detail)
        message = getattr(exc, "summary", None) or _validation_message(details)
    else:
        details = dict(getattr(exc, "details", None) or {})
        message = str(exc.detail) if not isinstance(exc.detail, (dict, list)) else "The request is invalid."
        if isinstance(exc, exceptions.MethodNotAllowed):
            details = {"method": [context["request"].method]} if context.get("request") else {}
    if isinstance(exc, exceptions.ParseError):
        details = {"body": [message]}

    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))
    return Response(error_body(code, message, details), status=exc.status_code, headers=headers)


# Django's handlers, for errors raised outside DRF views (unknown URLs, oversized bodies,
# middleware failures): the API gets the envelope, the OAuth endpoints RFC 6749's error shape,
# everything else Django's pages.


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def is_oauth(request: HttpRequest) -> bool:
    return request.path.startswith("/o/")


def oauth_error(code: str, message: str, status_code: int) -> JsonResponse:
    """RFC 6749 §5.2's error shape, which OAuth clients read."""
    return JsonResponse({"error": code, "error_description": message}, status=status_code)


def client_error_response(request: HttpRequest, exc: exceptions.APIException) -> HttpResponse | None:
    """An error found before any view ran (the body's size, its fields), shaped for the path:
    the envelope under /api/, RFC 6749's under /o/; None elsewhere (Django's pages)."""
    if _is_api(request):
        details = {"body": [str(exc.detail)]} if isinstance(exc, exceptions.ParseError) else None
        return JsonResponse(error_body(_code_for(exc), str(exc.detail), details), status=exc.status_code)
    if is_oauth(request):
        code = "invalid_request" if exc.status_code == 400 else _code_for(exc).lower()
        return oauth_error(code, str(exc.detail), exc.status_code)
    return None


def bad_request(request: HttpRequest, exception: Exception, **kwargs) -> HttpResponse:
    if isinstance(exception, SuspiciousOperation):
        response = client_error_response(request, request_exception(exception))
        if response is not None:
            return response
    if _is_api(request):
        return JsonResponse(error_body("BAD_REQUEST", "The request could not be understood."), status=400)
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception, **kwargs) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(error_body("FORBIDDEN", "You may not do this."), status=403)
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception, **kwargs) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(error_body("NOT_FOUND", f"No endpoint at {request.path}."), status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest, **kwargs) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(
            error_body("SERVER_ERROR", "Something went wrong on our side. It has been logged."), status=500
        )
    return defaults.server_error(request)


def _flatten(details: dict, prefix: str = "") -> dict[str, list[str]]:
    """Nested field errors as dotted keys, each a list of messages: `other_phone_numbers.0.phone_number`."""
    flat: dict[str, list[str]] = {}
    for key, value in details.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        elif isinstance(value, list) and any(isinstance(item, (dict, list)) for item in value):
            for index, item in enumerate(value):
                if isinstance(item, dict):
                    flat.update(_flatten(item, f"{name}.{index}."))
                elif item:
                    flat[f"{name}.{index}"] = [str(message) for message in item]
        else:
            flat[name] = value if isinstance(value, list) else [str(value)]
    return flat


def form_exception_handler(exc: Exception, context: dict) -> Response:
    """The lead intake's own shape (SPEC §5.1), kept for the form tools written against it:
    `{"message": ...}`, and for invalid data `{"message": "The given data was invalid.",
    "errors": {field: [...]}}`. Same statuses and headers as the envelope."""
    response = exception_handler(exc, context)
    error = response.data["error"]
    if error["code"] in {"VALIDATION_ERROR", "BAD_REQUEST"}:
        errors = _flatten(error["details"]) or {"body": [error["message"]]}
        body = {"message": "The given data was invalid.", "errors": errors}
    elif error["code"] == "RATE_LIMITED":
        body = {"message": f"Too many requests. Retry in {response['Retry-After']} seconds."}
    else:
        body = {"message": error["message"]}
    response.data = body
    return response
