"""Brains (a workspace's AI agents; the widget finds its workspace through a brain's bot_id) and
their knowledge, the provider side of lines, conversations, their messages, and the consent
ledger."""

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from leadhub.crypto import EncryptedTextField


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
    system_prompt = models.TextField(blank=True, max_length=20000)
    model = models.CharField(max_length=100, blank=True, help_text="Blank: AI_DEFAULT_MODEL")
    booking_url = models.URLField(max_length=500, blank=True)
    help_text = models.TextField(
        blank=True, max_length=1000, help_text="What HELP answers on this brain's lines; blank: a default"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "slug"], name="brain_unique_slug"),
            models.UniqueConstraint(
                fields=["workspace"], condition=models.Q(is_default=True), name="brain_one_default"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"


class KnowledgeDocument(models.Model):
    """A document a brain answers from. Retrieval (messaging/brains/retrieval.py) finds the
    documents relevant to a message: PostgreSQL full-text search over title and content (a
    GIN index on their tsvector, created by migration 0005 on PostgreSQL only), a term match
    on SQLite."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    brain = models.ForeignKey(Brain, on_delete=models.CASCADE, related_name="documents")
    title = models.CharField(max_length=200)
    content = models.TextField(max_length=100_000)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The knowledge list: a workspace's documents newest first (and ?brain= filter).
            models.Index(fields=["workspace", "-created_at"], name="knowledge_workspace_created"),
        ]

    def __str__(self) -> str:
        return self.title


class LineProvider(models.Model):
    """The provider side of a line (crm.Line holds its number): the account it belongs to, its
    credentials (secrets encrypted at rest), the brain that answers on it, and the proof that
    the number is the account's (`verified_at`). Nothing is routed to a line without it."""

    class Provider(models.TextChoices):
        TWILIO = "twilio"
        SIGNALWIRE = "signalwire"

    line = models.OneToOneField("crm.Line", on_delete=models.CASCADE, primary_key=True, related_name="provider")
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    provider = models.CharField(max_length=12, choices=Provider.choices, default=Provider.TWILIO)
    account_sid = models.CharField(max_length=64, help_text="Twilio Account SID, or SignalWire project id")
    auth_token = EncryptedTextField(help_text="Twilio auth token or SignalWire API token (encrypted)")
    signalwire_space = models.CharField(max_length=253, blank=True, help_text="e.g. example.signalwire.com")
    signing_key = EncryptedTextField(blank=True, help_text="SignalWire's webhook signing key (encrypted)")
    messaging_service_sid = models.CharField(max_length=64, blank=True)
    brain = models.ForeignKey(Brain, null=True, blank=True, on_delete=models.SET_NULL, related_name="lines")
    is_default = models.BooleanField(default=False)
    mps = models.PositiveIntegerField(default=1, help_text="Messages per second the number may send")
    number_sid = models.CharField(max_length=64, blank=True, help_text="The provider's id of the number")
    verified_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace"], condition=models.Q(is_default=True), name="line_provider_one_default"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.account_sid}"


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
    # Their lookups (and cascades) use the indexes that start with them: conversation_workspace_created,
    # conversation_contact_created.
    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="conversations", db_index=False
    )
    brain = models.ForeignKey(Brain, null=True, blank=True, on_delete=models.SET_NULL, related_name="conversations")
    contact = models.ForeignKey(
        "crm.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="conversations", db_index=False
    )
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.WIDGET)
    # NULL, not "", without a session (WhatsApp, SMS), so the unique constraint ignores those.
    session_id = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    page_url = models.CharField(max_length=2000, blank=True)
    # WhatsApp and SMS: the line the conversation is held on.
    line = models.ForeignKey("crm.Line", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # A person took the conversation over (the brain stays quiet until handback).
    taken_over_at = models.DateTimeField(null=True, blank=True)
    taken_over_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_message_at = models.DateTimeField(null=True, blank=True)
    # The contact's last message here: WhatsApp free text may follow it for 24 hours.
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # What the widget's visitor said about themselves (lead_name, lead_phone …), latest value
    # of each: a public call may not write it onto an existing contact (SPEC §5.2).
    claims = models.JSONField(default=dict, blank=True)
    # SHA-256 of the session_token answered to the session's first post; its holder may
    # rewrite the transcript's tail and link the session to the contact it names.
    session_token_hash = models.CharField(max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    # PostgreSQL: the order of the conversation's turns (messaging/turns.py), a ticket lock: the
    # next ticket to draw, the ticket whose turn it is, and until when its holder may keep it.
    turn_next = models.IntegerField(default=0, db_default=0, editable=False)
    turn_serving = models.IntegerField(default=0, db_default=0, editable=False)
    turn_lease_until = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One conversation per widget session: concurrent posts of a session meet here.
            models.UniqueConstraint(
                fields=["workspace", "session_id"],
                condition=models.Q(session_id__isnull=False),
                name="conversation_unique_session",
            ),
            # One open WhatsApp/SMS conversation per contact, channel and line: concurrent first
            # messages of a lead meet here.
            models.UniqueConstraint(
                fields=["contact", "channel", "line"],
                condition=models.Q(status="open", session_id__isnull=True, line__isnull=False),
                name="conversation_one_open_per_line",
            ),
        ]
        indexes = [
            # Conversation lists and stats: a workspace's newest first.
            models.Index(fields=["workspace", "-created_at"], name="conversation_workspace_created"),
            # A contact's conversations (lead detail), and the open one on a channel and line.
            models.Index(fields=["contact", "-created_at"], name="conversation_contact_created"),
            # Beat's idle completion: open conversations by their last message.
            models.Index(fields=["status", "last_message_at"], name="conversation_status_last"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.session_id or self.id}"


# The channels a message can be sent on (the widget's conversations are not sent to).
SEND_CHANNELS = (Conversation.Channel.WHATSAPP.value, Conversation.Channel.SMS.value)


class Message(models.Model):
    """One message of a conversation; `position` is its place in the transcript (0, 1, ...).

    WhatsApp and SMS messages also carry their direction, their delivery status, the line and
    the provider's id (`provider_sid`, the MessageSid). Status only moves forward: see
    `STATUS_RANK`."""

    class Role(models.TextChoices):
        USER = "user"
        ASSISTANT = "assistant"
        SYSTEM = "system"

    class Direction(models.TextChoices):
        INBOUND = "inbound"
        OUTBOUND = "outbound"

    class Status(models.TextChoices):
        RECEIVED = "received"  # inbound
        QUEUED = "queued"  # stored, not yet handed to the provider
        SENDING = "sending"  # a worker is handing it to the provider
        SENT = "sent"  # the provider accepted it
        DELIVERED = "delivered"
        UNDELIVERED = "undelivered"
        FAILED = "failed"
        CANCELED = "canceled"  # never handed over: the contact opted out before hand-off

    class Source(models.TextChoices):
        WIDGET = "widget"
        INBOUND = "inbound"  # the contact wrote
        AI = "ai"  # the brain's reply
        CONSENT = "consent"  # the answer to STOP, START, HELP
        AGENT = "agent"  # a person in the conversations API or the dashboard
        API = "api"  # send-whatsapp
        CAMPAIGN = "campaign"
        SEQUENCE = "sequence"

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, help_text="The public id")
    # Their lookups (and cascades) use the indexes that start with them: message_workspace_created,
    # message_unique_position. A single-column index of each cost every insert, twice a turn.
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+", db_index=False)
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages", db_index=False)
    position = models.PositiveIntegerField()
    role = models.CharField(max_length=10, choices=Role.choices)
    content = models.TextField()
    direction = models.CharField(max_length=10, choices=Direction.choices, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, blank=True)
    channel = models.CharField(max_length=10, choices=Conversation.Channel.choices, blank=True)
    line = models.ForeignKey("crm.Line", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # NULL, not "", until the provider names it, so the unique constraint ignores those.
    provider_sid = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    content_sid = models.CharField(max_length=64, blank=True, help_text="An approved WhatsApp template")
    content_variables = models.JSONField(default=dict, blank=True)
    error_code = models.IntegerField(null=True, blank=True)
    error_message = models.CharField(max_length=500, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # The public base URL of the request that queued it: the worker builds the status
    # callback URL from it when PUBLIC_BASE_URL is unset.
    callback_base = models.CharField(max_length=300, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Inbound: the intent detected and the reply given (a redelivery gets the same reply).
    intent = models.CharField(max_length=20, blank=True)
    reply = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    sent_at = models.DateTimeField(null=True, blank=True)
    status_at = models.DateTimeField(null=True, blank=True)
    # An inbound message: when its turn decided the answer (the reply stored, or none: a
    # takeover, an opt-out, the hourly cap). Null while the turn runs, or if the process running
    # it died after storing the message: beat answers those late (messaging/inbound/sweep.py).
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["conversation", "position"]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "position"], name="message_unique_position"),
            # A redelivered webhook (same MessageSid on the same line) is stored once.
            models.UniqueConstraint(
                fields=["line", "provider_sid"],
                condition=models.Q(provider_sid__isnull=False),
                name="message_unique_provider_sid",
            ),
        ]
        indexes = [
            # Stats: a workspace's messages in a time range.
            models.Index(fields=["workspace", "created_at"], name="message_workspace_created"),
            # Status callbacks find the message by the provider's id alone.
            models.Index(fields=["provider_sid"], name="message_provider_sid"),
            # The hourly AI-reply cap: a conversation's replies by source in the last hour.
            models.Index(fields=["conversation", "source", "created_at"], name="message_conversation_source"),
            # Beat re-dispatches messages still queued after their task was lost.
            models.Index(fields=["status", "created_at"], name="message_status_created"),
            # Beat answers inbound messages whose turn died before answering (inbound/sweep.py).
            models.Index(
                fields=["created_at"],
                name="message_unanswered",
                condition=models.Q(direction="inbound", answered_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.role}: {self.content[:50]}"


# Status only moves forward: a callback may move a message to a status of higher rank, never
# back; undelivered, failed and canceled are final.
STATUS_RANK = {
    Message.Status.QUEUED: 0,
    Message.Status.SENDING: 1,
    Message.Status.SENT: 2,
    Message.Status.DELIVERED: 3,
    Message.Status.UNDELIVERED: 4,
    Message.Status.FAILED: 4,
    Message.Status.CANCELED: 4,
}
FINAL_STATUSES = (Message.Status.UNDELIVERED, Message.Status.FAILED, Message.Status.CANCELED)


class ConsentChange(models.Model):
    """The consent ledger (SPEC §7): every change of a contact's `sms_opt_out`, with what caused it."""

    class Source(models.TextChoices):
        KEYWORD = "keyword"  # STOP, START ... alone in a message
        INTENT = "intent"  # an opt_out intent detected in a message
        PROVIDER = "provider"  # the provider's error 21610 (recipient unsubscribed)
        API = "api"

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    # Found by consent_contact_created, which starts with it.
    contact = models.ForeignKey("crm.Contact", on_delete=models.CASCADE, related_name="consent_changes", db_index=False)
    opted_out = models.BooleanField()
    source = models.CharField(max_length=10, choices=Source.choices)
    keyword = models.CharField(max_length=40, blank=True, help_text="The keyword, intent or provider error")
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["contact", "-created_at"], name="consent_contact_created")]

    def __str__(self) -> str:
        return f"{self.contact_id} {'out' if self.opted_out else 'in'} ({self.source} {self.keyword})"
