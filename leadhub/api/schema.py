"""OpenAPI: the security schemes of our authentication classes, and the responses, headers
and error envelope every native endpoint shares, added once by a postprocessing hook."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension

from accounts.scopes import SCOPES

ERROR_CODES = [
    "BAD_REQUEST",
    "VALIDATION_ERROR",
    "UNAUTHORIZED",
    "FORBIDDEN",
    "NOT_FOUND",
    "METHOD_NOT_ALLOWED",
    "UNSUPPORTED_MEDIA_TYPE",
    "CONFLICT",
    "IDEMPOTENCY_KEY_REUSED",
    "RATE_LIMITED",
    "SERVER_ERROR",
]


class BearerApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "leadhub.api.authentication.BearerApiKeyAuthentication"
    name = "apiKeyBearer"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key (`lh_…`) as a bearer token: `Authorization: Bearer lh_…`.",
        }


class HeaderApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "leadhub.api.authentication.HeaderApiKeyAuthentication"
    name = "apiKeyHeader"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "X-LeadHub-Key", "description": "An API key (`lh_…`)."}


class OAuthTokenScheme(OpenApiAuthenticationExtension):
    target_class = "leadhub.api.authentication.OAuthTokenAuthentication"
    name = "oauth2"

    def get_security_definition(self, auto_schema):
        return {
            "type": "oauth2",
            "description": "OAuth 2.0 client credentials: `POST /o/token/` with HTTP Basic client authentication.",
            "flows": {"clientCredentials": {"tokenUrl": "/o/token/", "scopes": dict(SCOPES)}},
        }


class TokenParameterScheme(OpenApiAuthenticationExtension):
    target_class = "leadhub.api.authentication.TokenParameterAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "query",
            "name": "api_token",
            "description": "An API key (`lh_…`) as `?api_token=` or an `api_token` body field (lead intake only).",
        }


_ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string", "enum": ERROR_CODES},
                "message": {"type": "string"},
                "details": {
                    "type": "object",
                    "additionalProperties": True,
                    "description": "For VALIDATION_ERROR, each field at fault with its messages.",
                },
            },
        }
    },
}

IDEMPOTENCY_KEY_HELP = "Makes the POST safe to retry for 24 hours; a replay answers with Idempotent-Replayed: true."

_RATE_HEADERS = {
    "RateLimit-Limit": {"description": "Requests allowed in the window.", "schema": {"type": "integer"}},
    "RateLimit-Remaining": {"description": "Requests left in the window.", "schema": {"type": "integer"}},
    "RateLimit-Reset": {"description": "Seconds until the window resets.", "schema": {"type": "integer"}},
}

_STANDARD_ERRORS = {
    "400": ("Malformed JSON or invalid fields.", "VALIDATION_ERROR", "Invalid value for: email."),
    "401": (
        "Missing, malformed, revoked or expired credential.",
        "UNAUTHORIZED",
        "The API key is invalid or has been revoked.",
    ),
    "403": (
        "The plan lacks this feature, or the credential lacks a scope.",
        "FORBIDDEN",
        "REST API is not available on your current plan.",
    ),
    "429": ("Over the rate limit; see Retry-After.", "RATE_LIMITED", "Rate limit exceeded. Retry in 12 seconds."),
}


def _error_response(ref: str, description: str, code: str, message: str, headers: dict | None = None) -> dict:
    response = {
        "description": description,
        "content": {
            "application/json": {
                "schema": {"$ref": ref},
                "example": {"error": {"code": code, "message": message, "details": {}}},
            }
        },
    }
    if headers:
        response["headers"] = headers
    return response


def add_standard_responses(result, generator, request, public):
    """Every native operation: the error envelope for 400/401/403/429 (404 where it takes an
    id, 409/422 on POST), the RateLimit-* headers, and the Idempotency-Key header on POST."""
    components = result.setdefault("components", {})
    components.setdefault("schemas", {})["Error"] = _ERROR_SCHEMA
    ref = "#/components/schemas/Error"
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            # Public operations (no credential, e.g. the widget's) have no 401/403 and no
            # idempotency; errors they declare by description alone get the envelope.
            public_operation = not operation.get("security")
            for status, response in responses.items():
                if status[0] in "45" and "content" not in response:
                    response["content"] = {"application/json": {"schema": {"$ref": ref}}}
            for status, (description, code, message) in _STANDARD_ERRORS.items():
                if public_operation and status in {"401", "403"}:
                    continue
                headers = {"Retry-After": {"schema": {"type": "integer"}}} | _RATE_HEADERS if status == "429" else None
                responses.setdefault(status, _error_response(ref, description, code, message, headers))
            if "{" in path:
                responses.setdefault(
                    "404", _error_response(ref, "No such object in this workspace.", "NOT_FOUND", "Not found.")
                )
            for status, response in responses.items():
                if status.startswith("2"):
                    response.setdefault("headers", {}).update(_RATE_HEADERS)
            if method == "post" and not public_operation:
                responses.setdefault(
                    "409",
                    _error_response(
                        ref, "A request with this Idempotency-Key is in flight.", "CONFLICT", "Retry later."
                    ),
                )
                responses.setdefault(
                    "422",
                    _error_response(
                        ref,
                        "The Idempotency-Key was used with another request.",
                        "IDEMPOTENCY_KEY_REUSED",
                        "Key reused.",
                    ),
                )
                parameters = operation.setdefault("parameters", [])
                if not any(p.get("name") == "Idempotency-Key" for p in parameters):
                    parameters.append(
                        {
                            "name": "Idempotency-Key",
                            "in": "header",
                            "required": False,
                            "description": IDEMPOTENCY_KEY_HELP,
                            "schema": {"type": "string", "maxLength": 255},
                        }
                    )
    return result
