"""Domain exceptions that services raise and leadhub.api.errors maps to the §4 envelope once.

They know nothing of HTTP, so the API, the intake, the dashboard and Celery tasks can all
raise and catch them.
"""

from typing import Any

from django.core.exceptions import PermissionDenied


class Conflict(Exception):
    """The write clashes with the state of what exists (a campaign that has started, a line that
    campaigns keep, a replay still running): a 409 CONFLICT with the message and `details`."""

    def __init__(self, message: str, *, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}


class AlreadyExists(Conflict):
    """The write would repeat an object that exists (one person, one contact; a tag's name; a
    line's number). `field` names what clashed; `existing` is the object when it belongs to the
    same workspace, None when the clash is with another workspace's row (never revealed). The
    409 names the field and, within the workspace, the existing id."""

    def __init__(self, message: str, *, field: str, existing: Any | None = None):
        details: dict[str, Any] = {"field": field}
        if existing is not None:
            details["id"] = str(existing.pk)
        super().__init__(message, details=details)
        self.field = field
        self.existing = existing


class Invalid(Exception):
    """Input a service refuses by its rules (not by its form): `errors` maps each field to its
    messages, as a 400 VALIDATION_ERROR shows them."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(errors)
        self.errors = errors


class NotAllowed(PermissionDenied):
    """The actor's role may not do this (SPEC §3: API keys, OAuth apps, webhook endpoints, lines
    and replay are for owners and admins). A 403 FORBIDDEN with the message, in the API and in
    Django's own views alike."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class TooMany(Exception):
    """A limit of the service's own was reached (e.g. a widget's new conversations per hour): a
    429 RATE_LIMITED with the message and Retry-After (seconds)."""

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after
