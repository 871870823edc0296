"""/api/v1/tags, /lines, /ring-groups and /sequences: list and create, per workspace."""

import pytest

from crm.catalog.services import ring_group_create, sequence_create, tag_create
from crm.models import Line, RingGroup, Sequence, Tag

from .support import error_of

pytestmark = pytest.mark.django_db

URLS = ["/api/v1/tags", "/api/v1/lines", "/api/v1/ring-groups", "/api/v1/sequences"]


def test_a_tag_is_created_and_listed(api_a, workspace_a):
    response = api_a.post("/api/v1/tags", {"name": "vip"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["name"] == "vip"
    assert [tag["name"] for tag in api_a.get("/api/v1/tags").json()["results"]] == ["vip"]


def test_a_repeated_tag_name_is_409_with_the_existing_id(api_a, workspace_a):
    tag = tag_create(workspace=workspace_a, name="vip")
    error = error_of(api_a.post("/api/v1/tags", {"name": "vip"}, format="json"), 409, "CONFLICT")
    assert error["details"] == {"field": "name", "id": str(tag.pk)}


# Lines (verified against the provider, credentials encrypted) are tested in tests/messaging/test_lines_api.py.


def test_a_ring_group_is_created_with_members_of_the_workspace(api_a, owner_a, agent_a):
    response = api_a.post(
        "/api/v1/ring-groups",
        {"name": "Sales", "members": [{"user_id": owner_a.pk}, {"user_id": agent_a.pk, "is_available": False}]},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["members"] == [
        {"user_id": owner_a.pk, "is_available": True},
        {"user_id": agent_a.pk, "is_available": False},
    ]


def test_a_ring_group_member_from_another_workspace_is_400(api_a, outsider):
    response = api_a.post(
        "/api/v1/ring-groups", {"name": "Sales", "members": [{"user_id": outsider.pk}]}, format="json"
    )
    error_of(response, 400, "VALIDATION_ERROR")
    assert not RingGroup.objects.exists()


def test_a_sequence_is_created_with_its_steps_in_order(api_a):
    response = api_a.post(
        "/api/v1/sequences",
        {"name": "Follow-up", "steps": [{"message": "Hi"}, {"delay_minutes": 60, "message": "Still there?"}]},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["steps"] == [
        {"position": 1, "delay_minutes": 0, "message": "Hi"},
        {"position": 2, "delay_minutes": 60, "message": "Still there?"},
    ]


@pytest.mark.parametrize(
    "url, body, field",
    [
        ("/api/v1/tags", {}, "name"),
        ("/api/v1/lines", {"name": "x", "phone_number": "123"}, "phone_number"),
        ("/api/v1/sequences", {"name": "x", "steps": [{"delay_minutes": -1, "message": "m"}]}, "steps"),
        ("/api/v1/ring-groups", {"name": "x", "members": [{"user_id": "me"}]}, "members"),
    ],
)
def test_invalid_creates_are_400_naming_the_field(api_a, url, body, field):
    assert field in error_of(api_a.post(url, body, format="json"), 400, "VALIDATION_ERROR")["details"]


def test_lists_hold_only_the_callers_workspace(api_b, workspace_a, owner_a):
    tag_create(workspace=workspace_a, name="vip")
    Line.objects.create(workspace=workspace_a, name="Main", phone_number="+18187405020")
    ring_group_create(workspace=workspace_a, name="Sales", members=[(owner_a, True)])
    sequence_create(workspace=workspace_a, name="Seq", steps=[{"message": "Hi"}])
    for url in URLS:
        assert api_b.get(url).json()["results"] == [], url


def test_a_key_without_the_scopes_gets_403(workspace_a, make_key, client_for):
    nothing = client_for(make_key(workspace_a, scopes=["stats:read"]))
    reader = client_for(make_key(workspace_a, scopes=["contacts:read"]))
    for url in URLS:
        error_of(nothing.get(url), 403, "FORBIDDEN")
        assert reader.get(url).status_code == 200
        error_of(reader.post(url, {"name": "x"}, format="json"), 403, "FORBIDDEN")
    assert not Tag.objects.exists() and not Sequence.objects.exists()


def test_lists_keep_their_queries_fixed(api_a, workspace_a, owner_a, agent_a, django_assert_max_num_queries):
    for n in range(20):
        tag_create(workspace=workspace_a, name=f"t{n}")
        Line.objects.create(workspace=workspace_a, name=f"L{n}", phone_number=f"+1818555{n:04d}")
        ring_group_create(workspace=workspace_a, name=f"R{n}", members=[(owner_a, True), (agent_a, False)])
        sequence_create(workspace=workspace_a, name=f"S{n}", steps=[{"message": "a"}, {"message": "b"}])
    for url in URLS:
        with django_assert_max_num_queries(4):
            assert len(api_a.get(url, {"limit": 100}).json()["results"]) == 20
