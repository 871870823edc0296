"""The one gate of the dashboard: every page under /w/<workspace_id>/ goes through
`workspace_page`, which answers 404 to a person who may not enter the workspace (a member, or
staff of its agency, may) and 403 to a role without the right (agents on admin pages)."""

import uuid
from collections.abc import Callable
from contextlib import suppress
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from rest_framework.exceptions import NotFound
from rest_framework.exceptions import PermissionDenied as ApiPermissionDenied

from accounts.selectors import WorkspaceAccess, workspace_access
from leadhub.tenancy import enter_workspace

ERROR_TITLES = {403: "You may not do this", 404: "Not found"}
ERROR_TEXTS = {
    403: "Your role in this workspace does not allow it. An owner or admin of the workspace can.",
    404: "There is nothing here, or it is not yours to see.",
}


def error_page(request: HttpRequest, status: int) -> HttpResponse:
    return render(
        request,
        "web/error.html",
        {"status": status, "title": ERROR_TITLES[status], "text": ERROR_TEXTS[status]},
        status=status,
    )


def require_admin(request: HttpRequest) -> None:
    """For an admin-only action inside a page that every role may see."""
    access: WorkspaceAccess = request.access
    if not access.is_admin:
        raise PermissionDenied


def workspace_page(view: Callable | None = None, *, admin: bool = False):
    """Decorate a dashboard view taking (request, ...) mounted at /w/<workspace_id>/...

    Anonymous people go to the login page; the view runs with request.workspace and
    request.access set. Http404 and PermissionDenied raised anywhere in the view (a foreign
    contact, say) become the dashboard's own 404 and 403 pages.
    """

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def gated(request: HttpRequest, workspace_id: str, *args, **kwargs) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            # The workspace the URL names is entered before its membership is checked, which
            # reads only that workspace's rows (row-level security); no access, the 404 below.
            with suppress(ValueError):  # not a workspace id: workspace_access answers 404
                enter_workspace(uuid.UUID(str(workspace_id)))
            try:
                access = workspace_access(user=request.user, workspace_id=workspace_id)
                request.access = access
                request.workspace = access.workspace
                if admin and not access.is_admin:
                    raise PermissionDenied
                return view(request, *args, **kwargs)
            # Selectors shared with the API may raise DRF's exceptions: the same answers here.
            except (Http404, NotFound):
                return error_page(request, 404)
            except (PermissionDenied, ApiPermissionDenied):
                return error_page(request, 403)

        gated.workspace_gate = {"admin": admin}  # tests find every gated route by this
        return gated

    return decorate(view) if view is not None else decorate
