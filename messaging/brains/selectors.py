"""Reads for brains and knowledge: one access gate each (a foreign or missing id is a 404)."""

import re
import uuid

from django.db.models import QuerySet
from rest_framework.exceptions import NotFound

from accounts.models import Workspace
from leadhub.compiled import CompiledQuery

from ..models import Brain, KnowledgeDocument

_SLUG = re.compile(r"[-a-zA-Z0-9_]{1,80}")


def _slug_possible(slug: str) -> bool:
    """Could a brain have this slug? Slugs are validated on the way in, so what is not one
    (NUL included, which PostgreSQL cannot even compare) names no brain."""
    return bool(_SLUG.fullmatch(slug))


def brains_list(*, workspace: Workspace, slug: str | None = None) -> QuerySet[Brain]:
    brains = Brain.objects.filter(workspace=workspace)
    if slug is not None:
        brains = brains.filter(slug=slug) if _slug_possible(slug) else brains.none()
    return brains.order_by("-created_at", "-id")


def brain_get(*, workspace: Workspace, brain_id) -> Brain:
    try:
        pk = int(str(brain_id))
    except ValueError:
        raise NotFound("No such brain.") from None
    brain = Brain.objects.filter(workspace=workspace, pk=pk).first() if 0 < pk < 2**63 else None
    if brain is None:
        raise NotFound("No such brain.")
    return brain


def brain_by_slug(*, workspace: Workspace, slug: str | None) -> Brain | None:
    """The brain of this slug, or the workspace's default brain when no slug is given."""
    if slug:
        return Brain.objects.filter(workspace=workspace, slug=slug).first() if _slug_possible(slug) else None
    return _DEFAULT.first(workspace.pk)


# Every inbound message looks it up: compiled once (leadhub/compiled.py), as the ORM spent more
# CPU compiling it than running it. One default per workspace; the first by id, as .first() did.
_DEFAULT = CompiledQuery(
    # `is_default = true` is written into the SQL by the ORM, not a parameter.
    lambda workspace_id: Brain.objects.filter(workspace_id=workspace_id, is_default=True).order_by("pk")[:1],
    Brain._meta.get_field("workspace"),
)


def knowledge_list(*, workspace: Workspace, brain: Brain | None = None) -> QuerySet[KnowledgeDocument]:
    documents = KnowledgeDocument.objects.filter(workspace=workspace).select_related("brain")
    if brain is not None:
        documents = documents.filter(brain=brain)
    return documents.order_by("-created_at", "-id")


def knowledge_get(*, workspace: Workspace, document_id) -> KnowledgeDocument:
    try:
        pk = uuid.UUID(str(document_id))
    except ValueError:
        raise NotFound("No such document.") from None
    document = KnowledgeDocument.objects.filter(workspace=workspace, pk=pk).select_related("brain").first()
    if document is None:
        raise NotFound("No such document.")
    return document
