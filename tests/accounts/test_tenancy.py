"""Roles: direct membership and agency staff; scopes are checked on creation."""

import pytest

from accounts.models import Role
from accounts.selectors import workspace_role, workspaces_for_user
from accounts.services import ScopeError, api_key_create, oauth_application_create, workspace_create

pytestmark = pytest.mark.django_db


def test_members_have_their_role_and_outsiders_none(workspace_a, owner_a, agent_a, outsider):
    assert workspace_role(user=owner_a, workspace=workspace_a) == Role.OWNER
    assert workspace_role(user=agent_a, workspace=workspace_a) == Role.AGENT
    assert workspace_role(user=outsider, workspace=workspace_a) is None
    assert list(workspaces_for_user(user=outsider)) != [] and workspace_a not in workspaces_for_user(user=outsider)


def test_agency_staff_reach_every_workspace_of_their_agency(workspace_a, django_user_model):
    from accounts.models import AgencyMembership

    sibling = workspace_create(name="Sibling", agency_name="Bright Agency")
    elsewhere = workspace_create(name="Elsewhere", agency_name="Other Agency")
    staff = django_user_model.objects.create_user(username="staff")
    AgencyMembership.objects.create(agency=workspace_a.agency, user=staff, role=Role.ADMIN)
    assert set(workspaces_for_user(user=staff)) == {workspace_a, sibling}
    assert workspace_role(user=staff, workspace=sibling) == Role.ADMIN
    assert workspace_role(user=staff, workspace=elsewhere) is None


def test_the_stronger_of_two_roles_wins(workspace_a, agent_a):
    from accounts.models import AgencyMembership

    AgencyMembership.objects.create(agency=workspace_a.agency, user=agent_a, role=Role.ADMIN)
    assert workspace_role(user=agent_a, workspace=workspace_a) == Role.ADMIN


def test_unknown_scopes_are_refused(workspace_a):
    with pytest.raises(ScopeError, match="contacts:delete"):
        api_key_create(workspace=workspace_a, name="bad", scopes=["contacts:delete"])
    with pytest.raises(ScopeError):
        oauth_application_create(workspace=workspace_a, name="bad", scopes=["admin"])
