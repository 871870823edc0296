"""Reads for tenancy: which workspaces a user reaches, and with what role."""

import uuid
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.http import Http404

from leadhub import lookups

from .models import ADMIN_ROLES, Agency, AgencyMembership, ApiKey, Membership, Role, Workspace

_RANK = {Role.AGENT: 1, Role.ADMIN: 2, Role.OWNER: 3}


def workspaces_for_user(*, user: AbstractBaseUser) -> QuerySet[Workspace]:
    """Workspaces the user is a member of, and every workspace of the user's agencies. The
    memberships lie across workspaces: on PostgreSQL the named lookup of row-level security
    answers their workspaces (leadhub/lookups.py); workspaces and agencies are global tables."""
    member_of = lookups.rows("memberships_of", user.pk)
    direct = Q(memberships__user=user) if member_of is None else Q(pk__in=member_of)
    return (
        Workspace.objects.filter(direct | Q(agency__memberships__user=user)).select_related("plan", "agency").distinct()
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


@dataclass(frozen=True)
class WorkspaceAccess:
    """What a person may do in one workspace: the dashboard's gate answers this."""

    workspace: Workspace
    role: str
    via_agency: bool  # the strongest role comes from agency staff, not a membership

    @property
    def is_admin(self) -> bool:
        return self.role in ADMIN_ROLES


def workspace_access(*, user: AbstractBaseUser, workspace_id) -> WorkspaceAccess:
    """The workspace and the user's strongest role in it, in one query; a workspace the user
    may not enter, a missing one and a malformed id all raise the same 404."""
    if not user.is_authenticated:
        raise Http404("No such workspace.")
    try:
        workspace_uuid = uuid.UUID(str(workspace_id))
    except (ValueError, TypeError, AttributeError):
        raise Http404("No such workspace.") from None
    workspace = (
        Workspace.objects.select_related("plan", "agency")
        .annotate(
            member_role=Subquery(Membership.objects.filter(workspace=OuterRef("pk"), user=user).values("role")[:1]),
            staff_role=Subquery(
                AgencyMembership.objects.filter(agency=OuterRef("agency"), user=user).values("role")[:1]
            ),
        )
        .filter(pk=workspace_uuid)
        .first()
    )
    if workspace is None or not (workspace.member_role or workspace.staff_role):
        raise Http404("No such workspace.")
    member, staff = workspace.member_role, workspace.staff_role
    role = max((r for r in (member, staff) if r), key=lambda r: _RANK[r])
    return WorkspaceAccess(workspace=workspace, role=role, via_agency=bool(staff) and role != member)


def agencies_staffed(*, user: AbstractBaseUser) -> QuerySet[Agency]:
    """The agencies whose staff the user is (the /agency/ view's choice)."""
    return Agency.objects.filter(memberships__user=user).distinct().order_by("name")


def api_keys_list(*, workspace: Workspace) -> QuerySet[ApiKey]:
    """The workspace's API keys, newest first (contact_workspace_created's sibling index)."""
    return ApiKey.objects.filter(workspace=workspace).select_related("created_by").order_by("-created_at")
