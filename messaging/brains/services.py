"""Writes for brains and their knowledge documents."""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.text import slugify

from accounts.models import Workspace
from leadhub.exceptions import AlreadyExists, Conflict

from ..models import Brain, KnowledgeDocument

BRAIN_FIELDS = ("slug", "name", "system_prompt", "model", "allowed_origins", "booking_url", "help_text")


class SlugTaken(AlreadyExists):
    def __init__(self, existing: Brain | None):
        super().__init__("A brain with this slug exists already.", field="slug", existing=existing)


class DefaultBrainProtected(Conflict):
    """The default brain cannot be deleted or un-defaulted: make another brain the default."""

    def __init__(self, message: str):
        super().__init__(message, details={"field": "is_default"})


def _unset_default(workspace: Workspace, keep: Brain | None = None) -> None:
    Brain.objects.filter(workspace=workspace, is_default=True).exclude(pk=keep.pk if keep else None).update(
        is_default=False
    )


def brain_create(
    *, workspace: Workspace, name: str, slug: str | None = None, is_default: bool = False, **fields: Any
) -> Brain:
    """A brain; the workspace's first brain is its default whatever is asked, and a new
    default takes over from the previous one."""
    slug = slug or slugify(name)[:80] or "brain"
    values = {key: value for key, value in fields.items() if key in BRAIN_FIELDS}
    try:
        with transaction.atomic():
            first = not Brain.objects.filter(workspace=workspace).exists()
            if is_default and not first:
                _unset_default(workspace)
            return Brain.objects.create(
                workspace=workspace, name=name, slug=slug, is_default=is_default or first, **values
            )
    except IntegrityError:
        raise SlugTaken(Brain.objects.filter(workspace=workspace, slug=slug).first()) from None


def brain_update(*, brain: Brain, data: dict[str, Any]) -> Brain:
    """PATCH a brain. `is_default: true` makes it the default (the previous one stops being
    it); `is_default: false` on the default is refused: another brain must take over."""
    make_default = data.get("is_default")
    if make_default is False and brain.is_default:
        raise ValidationError({"is_default": ["Make another brain the default instead."]})
    fields = [key for key in BRAIN_FIELDS if key in data]
    for key in fields:
        setattr(brain, key, data[key])
    try:
        with transaction.atomic():
            if make_default and not brain.is_default:
                _unset_default(brain.workspace, keep=brain)
                brain.is_default = True
                fields.append("is_default")
            if fields:
                brain.save(update_fields=fields)
    except IntegrityError:
        raise SlugTaken(Brain.objects.filter(workspace=brain.workspace, slug=brain.slug).first()) from None
    return brain


def brain_delete(*, brain: Brain) -> None:
    if brain.is_default:
        raise DefaultBrainProtected("The default brain cannot be deleted; make another brain the default first.")
    brain.delete()


def knowledge_create(*, workspace: Workspace, brain: Brain, title: str, content: str) -> KnowledgeDocument:
    return KnowledgeDocument.objects.create(workspace=workspace, brain=brain, title=title, content=content)


def knowledge_update(*, document: KnowledgeDocument, data: dict[str, Any]) -> KnowledgeDocument:
    fields = [key for key in ("brain", "title", "content") if key in data]
    for key in fields:
        setattr(document, key, data[key])
    if fields:
        document.save(update_fields=[*fields, "updated_at"])
    return document


def knowledge_delete(*, document: KnowledgeDocument) -> None:
    document.delete()
