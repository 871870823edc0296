"""The dashboard's knowledge page: everyone reads the brain's documents; owners and admins add,
change and delete them through the knowledge services (what the brain then answers from)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from messaging.brains.retrieval import documents_for
from messaging.brains.services import brain_create, knowledge_create
from messaging.models import KnowledgeDocument

from .conftest import logged_in

pytestmark = pytest.mark.django_db


def url(workspace, path=""):
    return f"/w/{workspace.pk}/knowledge/{path}"


def test_the_list_shows_the_documents_with_an_excerpt(owner_client, workspace_a, brain_a):
    response = owner_client.get(url(workspace_a))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Opening hours" in page and "Teeth whitening price" in page
    assert "We are open Monday to Friday" in page
    assert "Add a document" in page


def test_the_list_costs_the_same_queries_for_2_and_30_documents(owner_client, workspace_a, brain_a):
    def count():
        with CaptureQueriesContext(connection) as queries:
            assert owner_client.get(url(workspace_a)).status_code == 200
        return len(queries)

    few = count()
    for n in range(28):
        knowledge_create(workspace=workspace_a, brain=brain_a, title=f"Doc {n}", content="x" * 5000)
    assert count() == few


def test_an_empty_workspace_says_what_knowledge_is_for(owner_client, workspace_a):
    page = owner_client.get(url(workspace_a)).content.decode()
    assert "No documents" in page
    assert "has no brain yet" in page  # and how to get one


def test_an_admin_adds_a_document_the_brain_then_answers_from(owner_client, workspace_a, brain_a):
    response = owner_client.post(
        url(workspace_a, "new"),
        {"brain": brain_a.pk, "title": "Parking", "content": "Free parking behind the building, entrance on Elm St."},
    )
    assert response.status_code == 302
    document = KnowledgeDocument.objects.get(title="Parking")
    assert (document.workspace_id, document.brain_id) == (workspace_a.pk, brain_a.pk)
    assert document in documents_for(brain=brain_a, text="Is there free parking near you?")


def test_a_document_without_a_title_is_a_400_naming_it(owner_client, workspace_a, brain_a):
    before = KnowledgeDocument.objects.count()
    response = owner_client.post(url(workspace_a, "new"), {"brain": brain_a.pk, "title": "", "content": "Text"})
    assert response.status_code == 400
    assert "Title: This field is required." in response.content.decode()
    assert KnowledgeDocument.objects.count() == before


def test_a_brain_of_another_workspace_is_refused(owner_client, workspace_a, workspace_b, brain_a):
    foreign = brain_create(workspace=workspace_b, name="Theirs")
    response = owner_client.post(url(workspace_a, "new"), {"brain": foreign.pk, "title": "T", "content": "C"})
    assert response.status_code == 400
    assert "Brain:" in response.content.decode()
    assert not KnowledgeDocument.objects.filter(brain=foreign).exists()


def test_an_admin_edits_and_deletes_a_document(owner_client, workspace_a, brain_a):
    document = KnowledgeDocument.objects.get(brain=brain_a, title="Opening hours")
    page = owner_client.get(url(workspace_a, f"{document.pk}/")).content.decode()
    assert "Edit" in page and "We are open Monday to Friday" in page
    response = owner_client.post(
        url(workspace_a, f"{document.pk}/edit"),
        {"brain": brain_a.pk, "title": "Opening hours", "content": "Open every day from 8am to 8pm."},
    )
    assert response.status_code == 302
    document.refresh_from_db()
    assert document.content == "Open every day from 8am to 8pm."

    response = owner_client.post(url(workspace_a, f"{document.pk}/edit"), {"brain": brain_a.pk, "title": "x" * 201})
    assert response.status_code == 400
    assert "Title:" in response.content.decode() and "Content:" in response.content.decode()
    document.refresh_from_db()
    assert document.title == "Opening hours"

    assert owner_client.post(url(workspace_a, f"{document.pk}/delete")).status_code == 302
    assert not KnowledgeDocument.objects.filter(pk=document.pk).exists()


def test_an_agent_reads_but_does_not_change(agent_a, workspace_a, brain_a):
    client = logged_in(agent_a)
    document = KnowledgeDocument.objects.get(brain=brain_a, title="Opening hours")
    page = client.get(url(workspace_a)).content.decode()
    assert "Opening hours" in page and "Add a document" not in page
    page = client.get(url(workspace_a, f"{document.pk}/")).content.decode()
    assert "We are open Monday to Friday" in page and "Delete the document" not in page
    assert client.post(url(workspace_a, "new"), {"brain": brain_a.pk, "title": "T", "content": "C"}).status_code == 403
    assert client.post(url(workspace_a, f"{document.pk}/edit"), {"title": "Changed"}).status_code == 403
    assert client.post(url(workspace_a, f"{document.pk}/delete")).status_code == 403
    assert KnowledgeDocument.objects.filter(brain=brain_a).count() == 2
    document.refresh_from_db()
    assert document.title == "Opening hours"


def test_a_document_of_another_workspace_is_404_inside_ones_own(owner_client, workspace_a, workspace_b):
    theirs = brain_create(workspace=workspace_b, name="Theirs")
    document = knowledge_create(workspace=workspace_b, brain=theirs, title="Secret", content="Their prices")
    for method, path in (
        ("get", f"{document.pk}/"),
        ("post", f"{document.pk}/edit"),
        ("post", f"{document.pk}/delete"),
    ):
        response = getattr(owner_client, method)(
            url(workspace_a, path), {"title": "Mine"} if method == "post" else None
        )
        assert response.status_code == 404
        assert b"Their prices" not in response.content
    document.refresh_from_db()
    assert document.title == "Secret"
