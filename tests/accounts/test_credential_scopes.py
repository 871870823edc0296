"""Credentials get the least scopes asked for, capped by the role of the person who makes them."""

import pytest

from accounts.models import ApiKey, OAuthApplication, Role
from accounts.services import api_key_create, membership_set, oauth_application_create
from leadhub.exceptions import NotAllowed

pytestmark = pytest.mark.django_db


def test_the_admin_ticks_no_scope_for_a_new_key_or_app(admin_client):
    for model in ("apikey", "oauthapplication"):
        page = admin_client.get(f"/admin/accounts/{model}/add/").content.decode()
        assert 'name="scopes"' in page
        assert "checked" not in page, model


def test_a_key_or_app_needs_its_scopes_named(workspace_a):
    with pytest.raises(TypeError):
        api_key_create(workspace=workspace_a, name="k")  # no default: never all scopes by accident
    with pytest.raises(TypeError):
        oauth_application_create(workspace=workspace_a, name="app")


def test_an_agent_may_not_make_credentials(workspace_a, agent_a):
    with pytest.raises(NotAllowed):
        api_key_create(workspace=workspace_a, name="k", scopes=["contacts:read"], created_by=agent_a)
    with pytest.raises(NotAllowed):
        oauth_application_create(workspace=workspace_a, name="app", scopes=["contacts:read"], created_by=agent_a)
    assert not ApiKey.objects.exists() and not OAuthApplication.objects.exists()


def test_a_person_of_another_workspace_may_not_make_its_credentials(workspace_a, outsider):
    with pytest.raises(NotAllowed):
        api_key_create(workspace=workspace_a, name="k", scopes=["contacts:read"], created_by=outsider)


def test_owners_and_admins_may_grant_every_scope(workspace_a, owner_a, django_user_model):
    admin = django_user_model.objects.create_user(username="admin-a")
    membership_set(workspace=workspace_a, user=admin, role=Role.ADMIN)
    for person in (owner_a, admin):
        key = api_key_create(
            workspace=workspace_a, name="all", scopes=["webhooks:write", "contacts:write"], created_by=person
        )
        assert key.api_key.scopes == ["webhooks:write", "contacts:write"]
