"""Brains: a workspace's AI agents. The widget finds its workspace through a brain's bot_id."""

import secrets

from django.db import models
from django.utils import timezone


def new_bot_id() -> str:
    return "bot_" + secrets.token_urlsafe(12)


class Brain(models.Model):
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="brains")
    slug = models.SlugField(max_length=80)
    # Public and not secret (it is in the widget's page source): it names a workspace and
    # grants nothing else.
    bot_id = models.CharField(max_length=40, unique=True, default=new_bot_id, editable=False)
    name = models.CharField(max_length=200)
    is_default = models.BooleanField(default=False)
    allowed_origins = models.JSONField(default=list, blank=True, help_text="Origins allowed to embed the widget")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "slug"], name="brain_unique_slug"),
            models.UniqueConstraint(
                fields=["workspace"], condition=models.Q(is_default=True), name="brain_one_default"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"
