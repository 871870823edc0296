"""The dashboard's knowledge page: the documents the workspace's brains answer from. Everyone of
the workspace reads them (agents see what the assistant tells leads); adding, changing and
deleting them is for admins (SPEC §1: workspace admins manage brains), through the same
services as /api/v1/knowledge."""

from django import forms
from django.contrib import messages
from django.db.models.functions import Substr
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from leadhub.web.access import workspace_page
from leadhub.web.paging import keyset_page

from ..models import Brain, KnowledgeDocument
from . import selectors, services

EXCERPT = 200  # characters of each document in the list (the content may be 100,000)


class DocumentForm(forms.ModelForm):
    """The document's fields as the model declares them (lengths included); saved through
    knowledge_create / knowledge_update, never by form.save()."""

    class Meta:
        model = KnowledgeDocument
        fields = ["brain", "title", "content"]

    def __init__(self, *args, workspace, **kwargs):
        super().__init__(*args, **kwargs)
        brain = self.fields["brain"]
        brain.queryset = selectors.brains_list(workspace=workspace)
        brain.empty_label = None
        if not self.is_bound and self.instance.brain_id is None:
            self.initial["brain"] = next((b.pk for b in brain.queryset if b.is_default), None)


def _brains(request: HttpRequest) -> list[Brain]:
    return list(selectors.brains_list(workspace=request.workspace))


def _list_page(request: HttpRequest, form: DocumentForm, *, status: int = 200) -> HttpResponse:
    brains = _brains(request)
    chosen = next((b for b in brains if str(b.pk) == request.GET.get("brain")), None)
    documents = (
        selectors.knowledge_list(workspace=request.workspace, brain=chosen)
        .defer("content")
        .annotate(excerpt=Substr("content", 1, EXCERPT))
    )
    return render(
        request,
        "messaging/knowledge.html",
        {
            "section": "knowledge",
            "page": keyset_page(documents, request.GET.get("cursor")),
            "brains": brains,
            "chosen": chosen,
            "form": form,
            "excerpt": EXCERPT,
        },
        status=status,
    )


@workspace_page
@require_GET
def knowledge(request: HttpRequest) -> HttpResponse:
    return _list_page(request, DocumentForm(workspace=request.workspace))


@workspace_page(admin=True)
@require_POST
def knowledge_create(request: HttpRequest) -> HttpResponse:
    form = DocumentForm(request.POST, workspace=request.workspace)
    if not form.is_valid():
        return _list_page(request, form, status=400)
    document = services.knowledge_create(
        workspace=request.workspace,
        brain=form.cleaned_data["brain"],
        title=form.cleaned_data["title"],
        content=form.cleaned_data["content"],
    )
    messages.success(request, f"“{document.title}” added: {document.brain.name} answers from it now.")
    return redirect(reverse("web:knowledge", args=[request.workspace.pk]))


def _document_page(request: HttpRequest, document: KnowledgeDocument, form: DocumentForm, *, status: int = 200):
    return render(
        request,
        "messaging/knowledge_document.html",
        {"section": "knowledge", "document": document, "form": form},
        status=status,
    )


@workspace_page
@require_GET
def knowledge_document(request: HttpRequest, document_id: str) -> HttpResponse:
    document = selectors.knowledge_get(workspace=request.workspace, document_id=document_id)
    return _document_page(request, document, DocumentForm(instance=document, workspace=request.workspace))


@workspace_page(admin=True)
@require_POST
def knowledge_update(request: HttpRequest, document_id: str) -> HttpResponse:
    document = selectors.knowledge_get(workspace=request.workspace, document_id=document_id)
    form = DocumentForm(request.POST, instance=document, workspace=request.workspace)
    if not form.is_valid():
        # The page shows the stored document, not the refused values the form put on it.
        stored = selectors.knowledge_get(workspace=request.workspace, document_id=document_id)
        return _document_page(request, stored, form, status=400)
    services.knowledge_update(
        document=document, data={key: form.cleaned_data[key] for key in ("brain", "title", "content")}
    )
    messages.success(request, "Saved.")
    return redirect(reverse("web:knowledge-document", args=[request.workspace.pk, document.pk]))


@workspace_page(admin=True)
@require_POST
def knowledge_delete(request: HttpRequest, document_id: str) -> HttpResponse:
    document = selectors.knowledge_get(workspace=request.workspace, document_id=document_id)
    services.knowledge_delete(document=document)
    messages.success(request, f"“{document.title}” deleted.")
    return redirect(reverse("web:knowledge", args=[request.workspace.pk]))
