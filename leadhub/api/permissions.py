"""Permissions of the native API: a credential, a plan with API access, the scopes a view needs.

A view states its scopes per method:

    required_scopes = {"GET": ["contacts:read"], "POST": ["contacts:write"]}

A method missing from the map needs no scope beyond a valid credential.
"""

from rest_framework.exceptions import NotAuthenticated, PermissionDenied
from rest_framework.permissions import BasePermission

from .authentication import credential_of

PLAN_WITHOUT_API = "REST API is not available on your current plan."


class IsCredential(BasePermission):
    def has_permission(self, request, view) -> bool:
        if credential_of(request) is None:
            raise NotAuthenticated("Authentication credentials were not provided.")
        return True


class PlanAllowsApi(BasePermission):
    def has_permission(self, request, view) -> bool:
        credential = credential_of(request)
        if credential is not None and not credential.workspace.plan.api_access:
            raise PermissionDenied(PLAN_WITHOUT_API)
        return True


def required_scopes(view, method: str) -> list[str]:
    scopes = getattr(view, "required_scopes", None) or {}
    return list(scopes.get(method.upper(), ()))


class HasScopes(BasePermission):
    def has_permission(self, request, view) -> bool:
        credential = credential_of(request)
        needed = required_scopes(view, request.method)
        if credential is None or not needed:
            return True
        missing = [scope for scope in needed if scope not in credential.scopes]
        if missing:
            raise PermissionDenied(f"This credential lacks the scope {', '.join(missing)}.", code="missing_scope")
        return True
