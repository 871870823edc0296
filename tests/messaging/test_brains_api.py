"""/api/v1/brains (conversations:read / conversations:write) and /api/v1/knowledge
(knowledge:read / knowledge:write): create, list with filters, retrieve, change, delete; the
default brain; outsiders get 404 and credentials without the scope 403 on every route."""

import uuid

import pytest

from messaging.brains.services import brain_create, knowledge_create
from messaging.models import Brain, KnowledgeDocument
from tests.crm.support import error_of

BRAINS = "/api/v1/brains"
KNOWLEDGE = "/api/v1/knowledge"


@pytest.fixture
def default_brain(workspace_a):
    return Brain.objects.filter(workspace=workspace_a, is_default=True).first() or brain_create(
        workspace=workspace_a, name="Front desk", slug="front-desk", is_default=True
    )


@pytest.fixture
def realty(workspace_a, default_brain):
    return brain_create(workspace=workspace_a, name="Realty", slug="realty", system_prompt="You sell houses.")


@pytest.fixture
def document(workspace_a, realty):
    return knowledge_create(workspace=workspace_a, brain=realty, title="Viewings", content="Viewings on Saturdays.")


# --- Brains -------------------------------------------------------------------------------


def test_a_brain_is_created_listed_and_retrieved(api_a, default_brain):
    body = {
        "slug": "real-estate",
        "name": "Realty assistant",
        "system_prompt": "Be brief.",
        "allowed_origins": ["https://sunnyhomes.example"],
        "booking_url": "https://sunnyhomes.example/book",
    }
    response = api_a.post(BRAINS, body, format="json")
    assert response.status_code == 201, response.content
    brain = response.json()
    assert {key: brain[key] for key in body} == body
    assert brain["is_default"] is False and brain["bot_id"].startswith("bot_")
    assert api_a.get(f"{BRAINS}/{brain['id']}").json() == brain
    listed = api_a.get(BRAINS).json()["results"]
    assert [item["slug"] for item in listed] == ["real-estate", default_brain.slug]


def test_the_slug_filter_finds_one_brain(api_a, realty, default_brain):
    assert [b["id"] for b in api_a.get(BRAINS, {"slug": "realty"}).json()["results"]] == [realty.pk]
    assert api_a.get(BRAINS, {"slug": "nobody"}).json()["results"] == []
    assert api_a.get(BRAINS, {"slug": "bad\x00slug"}).json()["results"] == []


def test_a_slug_in_use_is_409_with_the_existing_id(api_a, realty):
    error = error_of(api_a.post(BRAINS, {"slug": "realty", "name": "Again"}, format="json"), 409, "CONFLICT")
    assert error["details"] == {"field": "slug", "id": str(realty.pk)}


def test_a_new_default_takes_over_and_the_default_cannot_be_deleted_or_unset(api_a, default_brain, realty):
    response = api_a.patch(f"{BRAINS}/{realty.pk}", {"is_default": True}, format="json")
    assert response.status_code == 200 and response.json()["is_default"] is True
    default_brain.refresh_from_db()
    assert default_brain.is_default is False
    error = error_of(
        api_a.patch(f"{BRAINS}/{realty.pk}", {"is_default": False}, format="json"), 400, "VALIDATION_ERROR"
    )
    assert "is_default" in error["details"]
    error_of(api_a.delete(f"{BRAINS}/{realty.pk}"), 409, "CONFLICT")
    assert api_a.delete(f"{BRAINS}/{default_brain.pk}").status_code == 204
    assert list(Brain.objects.filter(workspace=default_brain.workspace).values_list("slug", flat=True)) == ["realty"]


def test_a_brain_patch_changes_only_what_it_names(api_a, realty):
    response = api_a.patch(f"{BRAINS}/{realty.pk}", {"name": "Homes"}, format="json")
    assert response.status_code == 200, response.content
    realty.refresh_from_db()
    assert (realty.name, realty.system_prompt) == ("Homes", "You sell houses.")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "A", "slug": "not a slug"}, "slug"),
        ({"name": "A", "allowed_origins": "https://a.example"}, "allowed_origins"),
        ({"name": "A", "allowed_origins": ["not a url"]}, "allowed_origins"),
        ({"name": "A", "booking_url": "nope"}, "booking_url"),
        ({"name": "A\x00"}, "name"),
        ({"name": "A", "temperature": 0.2}, "temperature"),
    ],
)
def test_bad_brain_fields_are_400_naming_them(api_a, default_brain, body, field):
    error = error_of(api_a.post(BRAINS, body, format="json"), 400, "VALIDATION_ERROR")
    assert field in error["details"], error
    assert Brain.objects.count() == 1


# --- Knowledge ----------------------------------------------------------------------------


def test_a_document_goes_to_the_default_brain_unless_one_is_named(api_a, default_brain, realty):
    first = api_a.post(KNOWLEDGE, {"title": "Hours", "content": "Open 9 to 5."}, format="json")
    assert first.status_code == 201, first.content
    assert first.json()["brain"] == default_brain.slug
    second = api_a.post(KNOWLEDGE, {"brain": "realty", "title": "Fees", "content": "1% fee."}, format="json")
    assert second.json()["brain"] == "realty"
    assert KnowledgeDocument.objects.get(pk=second.json()["id"]).brain == realty
    assert api_a.get(f"{KNOWLEDGE}/{first.json()['id']}").json() == first.json()


def test_the_brain_filter_lists_its_documents(api_a, default_brain, realty, document, workspace_a):
    other = knowledge_create(workspace=workspace_a, brain=default_brain, title="Hours", content="Open 9 to 5.")
    everything = [item["id"] for item in api_a.get(KNOWLEDGE).json()["results"]]
    assert everything == [str(other.pk), str(document.pk)]
    assert [item["id"] for item in api_a.get(KNOWLEDGE, {"brain": "realty"}).json()["results"]] == [str(document.pk)]
    error = error_of(api_a.get(KNOWLEDGE, {"brain": "nobody"}), 400, "VALIDATION_ERROR")
    assert "brain" in error["details"]
    error_of(api_a.get(KNOWLEDGE, {"brian": "realty"}), 400, "VALIDATION_ERROR")


def test_a_document_is_changed_moved_and_deleted(api_a, default_brain, document):
    response = api_a.patch(
        f"{KNOWLEDGE}/{document.pk}", {"content": "Viewings daily.", "brain": default_brain.slug}, format="json"
    )
    assert response.status_code == 200, response.content
    document.refresh_from_db()
    assert (document.content, document.title, document.brain) == ("Viewings daily.", "Viewings", default_brain)
    error = error_of(
        api_a.patch(f"{KNOWLEDGE}/{document.pk}", {"brain": "nobody"}, format="json"), 400, "VALIDATION_ERROR"
    )
    assert "brain" in error["details"]
    assert api_a.delete(f"{KNOWLEDGE}/{document.pk}").status_code == 204
    assert not KnowledgeDocument.objects.exists()


def test_a_document_without_a_default_brain_is_400_on_brain(api_a, workspace_a):
    Brain.objects.filter(workspace=workspace_a).delete()
    error = error_of(api_a.post(KNOWLEDGE, {"title": "T", "content": "C"}, format="json"), 400, "VALIDATION_ERROR")
    assert "brain" in error["details"]


def test_a_document_of_another_workspaces_brain_cannot_be_made(api_a, workspace_b):
    brain_create(workspace=workspace_b, name="Theirs", slug="theirs")
    error = error_of(
        api_a.post(KNOWLEDGE, {"brain": "theirs", "title": "T", "content": "C"}, format="json"), 400, "VALIDATION_ERROR"
    )
    assert "brain" in error["details"]
    assert not KnowledgeDocument.objects.exists()


# --- Tenancy and scopes, every route --------------------------------------------------------


def _routes(brain_id, document_id):
    return [
        ("get", f"{BRAINS}/{brain_id}", None, "conversations:read"),
        ("patch", f"{BRAINS}/{brain_id}", {"name": "Taken"}, "conversations:write"),
        ("delete", f"{BRAINS}/{brain_id}", None, "conversations:write"),
        ("get", f"{KNOWLEDGE}/{document_id}", None, "knowledge:read"),
        ("patch", f"{KNOWLEDGE}/{document_id}", {"title": "Taken"}, "knowledge:write"),
        ("delete", f"{KNOWLEDGE}/{document_id}", None, "knowledge:write"),
    ]


def test_the_outsider_gets_404_on_every_route_and_changes_nothing(api_b, realty, document):
    for method, path, data, _ in _routes(realty.pk, document.pk):
        error_of(getattr(api_b, method)(path, data, format="json"), 404, "NOT_FOUND")
    assert Brain.objects.filter(pk=realty.pk, name="Realty").exists()
    assert KnowledgeDocument.objects.filter(pk=document.pk, title="Viewings").exists()
    assert api_b.get(BRAINS).json()["results"] == []
    assert api_b.get(KNOWLEDGE).json()["results"] == []


def test_a_missing_or_malformed_id_is_404(api_a):
    for brain_id, document_id in ((999999, uuid.uuid4()), ("x", "not-a-uuid"), (2**70, 0)):
        for method, path, data, _ in _routes(brain_id, document_id):
            error_of(getattr(api_a, method)(path, data, format="json"), 404, "NOT_FOUND")


def test_a_credential_without_the_scope_gets_403_and_changes_nothing(
    workspace_a, make_key, client_for, realty, document
):
    routes = [
        *_routes(realty.pk, document.pk),
        ("get", BRAINS, None, "conversations:read"),
        ("post", BRAINS, {"name": "New"}, "conversations:write"),
        ("get", KNOWLEDGE, None, "knowledge:read"),
        ("post", KNOWLEDGE, {"title": "T", "content": "C"}, "knowledge:write"),
    ]
    everything_else = client_for(make_key(workspace_a, scopes=["contacts:read", "contacts:write", "stats:read"]))
    for method, path, data, scope in routes:
        error = error_of(getattr(everything_else, method)(path, data, format="json"), 403, "FORBIDDEN")
        assert scope in error["message"], (method, path, error)
        if scope.endswith(":write"):
            reader = client_for(make_key(workspace_a, scopes=[scope.replace(":write", ":read")]))
            error_of(getattr(reader, method)(path, data, format="json"), 403, "FORBIDDEN")
    assert Brain.objects.filter(workspace=workspace_a).count() == 2
    assert KnowledgeDocument.objects.get().title == "Viewings"


def test_lists_take_a_bounded_number_of_queries(api_a, workspace_a, realty, django_assert_max_num_queries):
    for n in range(5):
        knowledge_create(workspace=workspace_a, brain=realty, title=f"Doc {n}", content="x")
        brain_create(workspace=workspace_a, name=f"Brain {n}")
    with django_assert_max_num_queries(8):
        assert len(api_a.get(KNOWLEDGE).json()["results"]) == 5
    with django_assert_max_num_queries(8):
        assert len(api_a.get(BRAINS).json()["results"]) == 7
