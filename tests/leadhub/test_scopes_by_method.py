"""Scopes by method: HEAD needs what GET needs, OPTIONS the least any method of the view needs."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from leadhub.api.permissions import required_scopes, scopes_allow
from tests.crm.support import contact_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def contact(workspace_a):
    return contact_make(workspace_a, phone="8187405020", name="Ada")


def test_head_needs_the_scope_of_get(workspace_a, make_key, client_for, contact):
    stats_only = client_for(make_key(workspace_a, scopes=["stats:read"]))
    assert stats_only.head(f"/api/v1/contacts/{contact.id}").status_code == 403
    assert stats_only.head("/api/v1/contacts").status_code == 403
    reader = client_for(make_key(workspace_a, scopes=["contacts:read"]))
    assert reader.head(f"/api/v1/contacts/{contact.id}").status_code == 200


def test_options_needs_the_least_scope_of_the_view(workspace_a, make_key, client_for):
    stats_only = client_for(make_key(workspace_a, scopes=["stats:read"]))
    response = stats_only.options("/api/v1/contacts")
    assert response.status_code == 403
    assert "contacts:read" in response.json()["error"]["message"]
    reader = client_for(make_key(workspace_a, scopes=["contacts:read"]))
    assert reader.options("/api/v1/contacts").status_code == 200


def _api_views():
    def walk(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns)
            elif isinstance(pattern, URLPattern):
                view = getattr(pattern.callback, "cls", None)
                if view is not None and getattr(view, "required_scopes", None):
                    yield view

    return {view: None for view in walk(get_resolver().url_patterns)}


def test_every_view_with_scopes_holds_head_to_get_and_options_to_its_least():
    views = _api_views()
    assert len(views) >= 5  # the walk found the API
    for view in views:
        scopes = {method: set(needed) for method, needed in view.required_scopes.items()}
        for method, needed in scopes.items():
            assert scopes_allow(view, method, needed), (view, method)
            assert not needed or not scopes_allow(view, method, set()), (view, method)
        if "GET" in scopes:
            assert required_scopes(view, "HEAD") == list(view.required_scopes["GET"]), view
            assert not scopes_allow(view, "HEAD", set()) or not scopes["GET"], view
        least = min((needed for needed in scopes.values() if needed), key=len, default=set())
        assert scopes_allow(view, "OPTIONS", least), view
        assert not least or not scopes_allow(view, "OPTIONS", {"stats:read"} - least), view
