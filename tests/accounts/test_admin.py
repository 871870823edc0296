"""Django admin: secrets shown once on creation, revoke and rotate actions, every page loads."""

import re

import pytest
from django.contrib.messages import get_messages

from accounts.models import ApiKey, OAuthApplication
from accounts.services import api_key_hash

pytestmark = pytest.mark.django_db


def shown_secret(response, prefix_pattern):
    """The secret in the page the admin shows next (the messages are rendered there, once)."""
    text = " ".join(str(message) for message in get_messages(response.wsgi_request))
    if response.status_code == 200:
        text += response.content.decode()
    match = re.search(prefix_pattern, text)
    assert match, text
    return match.group(1)


def test_adding_an_api_key_shows_its_secret_once(admin_client, workspace_a):
    response = admin_client.post(
        "/admin/accounts/apikey/add/",
        {"workspace": workspace_a.pk, "name": "Zapier", "scopes": ["contacts:read", "intake"]},
        follow=True,
    )
    assert response.status_code == 200
    secret = shown_secret(response, r"<code>(lh_[\w-]+)</code>")
    api_key = ApiKey.objects.get(name="Zapier")
    assert api_key.key_hash == api_key_hash(secret)
    assert api_key.scopes == ["contacts:read", "intake"]
    page = admin_client.get(f"/admin/accounts/apikey/{api_key.pk}/change/").content.decode()
    assert secret not in page
    assert api_key.prefix in page


def test_the_revoke_action_revokes(admin_client, workspace_a, make_key, client_for):
    secret = make_key(workspace_a)
    api_key = ApiKey.objects.get(workspace=workspace_a)
    admin_client.post("/admin/accounts/apikey/", {"action": "revoke", "_selected_action": [api_key.pk]})
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None
    assert client_for(secret).get("/api/v1/workspace").status_code == 401


def test_adding_an_oauth_application_shows_its_secret_and_rotating_replaces_it(admin_client, client, workspace_a):
    from tests.leadhub.test_oauth import get_token

    response = admin_client.post(
        "/admin/accounts/oauthapplication/add/",
        {"workspace": workspace_a.pk, "name": "Partner", "scopes": ["contacts:read"]},
    )
    assert response.status_code == 302
    secret = shown_secret(response, r"Client secret: <code>(\w+)</code>")
    application = OAuthApplication.objects.get(name="Partner")
    assert application.workspace == workspace_a
    assert get_token(client, application.client_id, secret).json()["scope"] == "contacts:read"

    response = admin_client.post(
        "/admin/accounts/oauthapplication/",
        {"action": "rotate_secret", "_selected_action": [application.pk]},
    )
    new_secret = shown_secret(response, r"New client secret of Partner: <code>(\w+)</code>")
    assert get_token(client, application.client_id, secret).status_code == 401
    assert get_token(client, application.client_id, new_secret).status_code == 200


@pytest.mark.parametrize("model", ["agency", "plan", "workspace", "membership", "apikey", "oauthapplication"])
def test_admin_pages_load(admin_client, workspace_a, owner_a, make_key, oauth_app_a, model):
    make_key(workspace_a)
    assert admin_client.get(f"/admin/accounts/{model}/").status_code == 200
    assert admin_client.get(f"/admin/accounts/{model}/add/").status_code == 200


def test_workspace_admin_edits_rate_overrides(admin_client, workspace_a):
    page = admin_client.get(f"/admin/accounts/workspace/{workspace_a.pk}/change/")
    assert b"api_rate_per_minute_override" in page.content
    assert b"intake_rate_per_minute_override" in page.content


def test_agents_cannot_reach_the_admin(client, agent_a):
    client.force_login(agent_a)
    assert client.get("/admin/accounts/apikey/").status_code == 302


# --- Only operators (superusers) enter the admin (SPEC §1) -----------------------------------


@pytest.fixture
def staff_viewer(django_user_model):
    """Staff with every view permission, and the change permission on OAuth applications: what a
    support person might be given; still not an operator."""
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user(username="support", password="support-pass", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(codename__startswith="view_")
        | Permission.objects.filter(codename="change_oauthapplication")
    )
    return user


def test_staff_who_are_not_superusers_cannot_enter_the_admin(client, staff_viewer, oauth_app_a):
    application = oauth_app_a.application
    client.force_login(staff_viewer)
    for url in (
        "/admin/",
        "/admin/accounts/oauthapplication/",
        f"/admin/accounts/oauthapplication/{application.pk}/change/",
    ):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/admin/login/")
    secret_before = OAuthApplication.objects.get(pk=application.pk).client_secret
    response = client.post(
        "/admin/accounts/oauthapplication/", {"action": "rotate_secret", "_selected_action": [application.pk]}
    )
    assert response.status_code == 302
    assert OAuthApplication.objects.get(pk=application.pk).client_secret == secret_before
    # The login form refuses them too (it is shown again, with its error).
    client.logout()
    refused = client.post("/admin/login/", {"username": "support", "password": "support-pass"})
    assert refused.status_code == 200
    assert b"superuser" in refused.content


def test_every_state_changing_admin_action_declares_its_permission():
    from django.contrib import admin

    undeclared = [
        f"{model._meta.label}.{name}"
        for model, model_admin in admin.site._registry.items()
        for name in model_admin.actions or ()
        if not getattr(getattr(model_admin, name, None) or admin.site.get_action(name), "allowed_permissions", None)
    ]
    assert undeclared == []


def test_an_action_is_offered_only_with_its_permission(rf, staff_viewer, django_user_model):
    from django.contrib import admin

    viewer_only = django_user_model.objects.create_user(username="viewer", is_staff=True)
    viewer_only.user_permissions.set(staff_viewer.user_permissions.filter(codename__startswith="view_"))
    request = rf.get("/admin/accounts/oauthapplication/")
    request.user = viewer_only
    model_admin = admin.site._registry[OAuthApplication]
    assert "rotate_secret" not in model_admin.get_actions(request)
    request.user = staff_viewer  # with change_oauthapplication
    assert "rotate_secret" in model_admin.get_actions(request)
