"""Permissions of the native API: a credential, a plan with API access, the scopes a view needs.

A view states its scopes per method:

    required_scopes = {"GET": ["contacts:read"], "POST": ["contacts:write"]}

A method missing from the map needs no scope beyond a valid credential. HEAD needs what GET
needs (it answers GET's headers: whether an object exists, its size). OPTIONS describes the
view, so it needs the scopes of some method of it: a credential that can use the view for
nothing learns nothing about it.
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


def crud_scopes(read: str, write: str) -> dict[str, list[str]]:
    """A resource's `required_scopes`: `read` to look, `write` to create, change or delete."""
    return {"GET": [read], "POST": [write], "PATCH": [write], "DELETE": [write]}


def required_scopes(view, method: str) -> list[str]:
    """The scopes `method` needs on `view` (for OPTIONS: the least of any method's)."""
    scopes = getattr(view, "required_scopes", None) or {}
    method = method.upper()
    if method == "HEAD":
        method = "GET"
    if method == "OPTIONS":
        return min((list(needed) for needed in scopes.values() if needed), key=len, default=[])
    return list(scopes.get(method, ()))


def scopes_allow(view, method: str, granted: "frozenset[str] | set[str]") -> bool:
    if method.upper() == "OPTIONS":
        sets = [set(needed) for needed in (getattr(view, "required_scopes", None) or {}).values() if needed]
        return not sets or any(needed <= granted for needed in sets)
    return set(required_scopes(view, method)) <= granted


class HasScopes(BasePermission):
    def has_permission(self, request, view) -> bool:
        credential = credential_of(request)
        if credential is None or scopes_allow(view, request.method, credential.scopes):
            return True
        missing = [scope for scope in required_scopes(view, request.method) if scope not in credential.scopes]
        raise PermissionDenied(f"This credential lacks the scope {', '.join(missing)}.", code="missing_scope")
