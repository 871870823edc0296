"""What the dashboard's layout shows on every page: the workspaces a person may switch to and
whether they are agency staff. Lazy, so pages that do not draw the layout query nothing."""

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from accounts.selectors import agencies_staffed, workspaces_for_user


def _switch_workspaces(user) -> list:
    return list(workspaces_for_user(user=user).order_by("name")[:200])


def layout(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "switch_workspaces": SimpleLazyObject(lambda: _switch_workspaces(user)),
        "staffed_agencies": SimpleLazyObject(lambda: list(agencies_staffed(user=user))),
        "access": getattr(request, "access", None),
        "workspace": getattr(request, "workspace", None),
    }
