"""Writes for messaging: brains. (The widget's capture is in messaging/widget/.)"""

from django.utils.text import slugify

from accounts.models import Workspace

from .models import Brain


def brain_create(*, workspace: Workspace, name: str, slug: str | None = None, is_default: bool = False) -> Brain:
    return Brain.objects.create(
        workspace=workspace, name=name, slug=slug or slugify(name)[:80] or "brain", is_default=is_default
    )
