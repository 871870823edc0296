"""Reads for tenancy: which workspaces a user reaches, and with what role."""

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404

from .models import AgencyMembership, ApiKey, Membership, Role, Workspace

_RANK = {Role.AGENT: 1, Role.ADMIN: 2, Role.OWNER: 3}


def workspaces_for_user(*, user: AbstractBaseUser) -> QuerySet[Workspace]:
    """Workspaces the user is a member of, and every workspace of the user's agencies."""
    return (
        Workspace.objects.filter(Q(memberships__user=user) | Q(agency__memberships__user=user))
        .select_related("plan", "agency")
        .distinct()
    )


def workspace_role(*, user: AbstractBaseUser, workspace: Workspace) -> str | None:
    """The user's strongest role in the workspace, directly or as agency staff; None if none."""
    if not user.is_authenticated:
        return None
    roles = list(Membership.objects.filter(user=user, workspace=workspace).values_list("role", flat=True))
    if workspace.agency_id:
        roles += AgencyMembership.objects.filter(user=user, agency_id=workspace.agency_id).values_list(
            "role", flat=True
        )
    return max(roles, key=lambda role: _RANK[role], default=None)


def api_key_get(*, workspace: Workspace, api_key_id) -> ApiKey:
    """The workspace's API key; another workspace's answers exactly as a missing one."""
    try:
        return ApiKey.objects.get(workspace=workspace, pk=api_key_id)
    except (ApiKey.DoesNotExist, ValueError, ValidationError):
        raise Http404("No such API key.") from None
