"""Brains (a workspace's AI agents; the widget finds its workspace through a brain's bot_id),
conversations and their messages."""

import secrets
import uuid

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


class Conversation(models.Model):
    """A conversation with a lead on one channel. The widget's are keyed by its session_id."""

    class Channel(models.TextChoices):
        WIDGET = "widget"
        WHATSAPP = "whatsapp"
        SMS = "sms"

    class Status(models.TextChoices):
        OPEN = "open"
        COMPLETED = "completed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="conversations")
    brain = models.ForeignKey(Brain, null=True, blank=True, on_delete=models.SET_NULL, related_name="conversations")
    contact = models.ForeignKey(
        "crm.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="conversations"
    )
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.WIDGET)
    # NULL, not "", without a session (WhatsApp, SMS), so the unique constraint ignores those.
    session_id = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    page_url = models.CharField(max_length=2000, blank=True)
    # What the widget's visitor said about themselves (lead_name, lead_phone …), latest value
    # of each: a public call may not write it onto an existing contact (SPEC §5.2).
    claims = models.JSONField(default=dict, blank=True)
    # SHA-256 of the session_token answered to the session's first post; its holder may
    # rewrite the transcript's tail and link the session to the contact it names.
    session_token_hash = models.CharField(max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One conversation per widget session: concurrent posts of a session meet here.
            models.UniqueConstraint(
                fields=["workspace", "session_id"],
                condition=models.Q(session_id__isnull=False),
                name="conversation_unique_session",
            )
        ]
        indexes = [
            # Conversation lists and stats: a workspace's newest first.
            models.Index(fields=["workspace", "-created_at"], name="conversation_workspace_created"),
            # A contact's conversations (lead detail).
            models.Index(fields=["contact", "-created_at"], name="conversation_contact_created"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.session_id or self.id}"


class Message(models.Model):
    """One message of a conversation; `position` is its place in the transcript (0, 1, ...)."""

    class Role(models.TextChoices):
        USER = "user"
        ASSISTANT = "assistant"
        SYSTEM = "system"

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    position = models.PositiveIntegerField()
    role = models.CharField(max_length=10, choices=Role.choices)
    content = models.TextField()
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["conversation", "position"]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "position"], name="message_unique_position"),
        ]
        indexes = [
            # Stats: a workspace's messages in a time range.
            models.Index(fields=["workspace", "created_at"], name="message_workspace_created"),
        ]

    def __str__(self) -> str:
        return f"{self.role}: {self.content[:50]}"
