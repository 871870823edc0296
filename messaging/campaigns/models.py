"""Campaigns (one message to many recipients at a scheduled time), their recipients as rows,
the pace of each line, and the progress of sequence enrollments.

Every schedule is data here: a campaign's `schedule_at`, each recipient's `due_at` (pushed to
the morning by quiet hours), each enrollment's next step. Beat claims what is due, as the
webhook engine claims deliveries; nothing waits in a broker ETA.
"""

import datetime
import uuid

from django.db import models
from django.db.models import Q
from django.utils.timezone import now

DEFAULT_QUIET_START = datetime.time(21, 0)
DEFAULT_QUIET_END = datetime.time(8, 0)


class Campaign(models.Model):
    class Channel(models.TextChoices):
        SMS = "sms"
        WHATSAPP = "whatsapp"
        VOICE = "voice"

    class Status(models.TextChoices):
        SCHEDULED = "scheduled"
        RUNNING = "running"
        COMPLETED = "completed"
        CANCELLED = "cancelled"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="campaigns")
    name = models.CharField(max_length=200, blank=True)
    # The client's own label (appointment_reminder, ...), kept for reporting.
    scenario = models.CharField(max_length=100)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    schedule_at = models.DateTimeField()
    message_template = models.TextField()
    line = models.ForeignKey("crm.Line", on_delete=models.PROTECT, related_name="+")
    # Quiet hours in each recipient's zone: nothing is sent from start to end (over midnight
    # when start > end). Equal times: no quiet hours.
    quiet_start = models.TimeField(default=DEFAULT_QUIET_START)
    quiet_end = models.TimeField(default=DEFAULT_QUIET_END)
    # An inbound message from a recipient within this long after its message is a reply.
    reply_window = models.DurationField(default=datetime.timedelta(hours=72))
    # WhatsApp: an approved template sent to those outside the 24-hour window (free text to the
    # others); its variables are templates too, rendered like message_template ({"1": "{{ time }}"}).
    content_sid = models.CharField(max_length=64, blank=True)
    content_variables = models.JSONField(default=dict, blank=True)
    # Whether the brain answers such a reply (SPEC §7: the brain answers inbound messages); off,
    # the reply is recorded and its callback emitted, and the client's own system answers.
    ai_replies = models.BooleanField(default=True)
    # Voice: the key that opts the person out, and what is said when no key is pressed.
    opt_out_digit = models.CharField(max_length=1, blank=True, default="9")
    no_input_message = models.CharField(max_length=500, blank=True)
    # The campaign's own webhook endpoint (campaign.callback.received filtered to it).
    webhook_endpoint = models.ForeignKey(
        "webhooks.Endpoint", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Scheme and host that providers call back (status, gather): PUBLIC_BASE_URL, else the
    # creating request's own, kept because a worker has no request.
    public_base_url = models.CharField(max_length=300)
    recipient_count = models.PositiveIntegerField(default=0)
    # {"first_name": 12}: recipients whose context and contact lacked a variable the template uses.
    missing_variables = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=now, editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The campaign list of a workspace, newest first.
            models.Index(fields=["workspace", "-created_at"], name="campaign_workspace_created"),
            # Beat: scheduled campaigns due, running campaigns to drive.
            models.Index(
                fields=["status", "schedule_at"],
                condition=Q(status__in=["scheduled", "running"]),
                name="campaign_active",
            ),
        ]

    def __str__(self) -> str:
        return self.name or f"{self.scenario} {self.id}"


class Recipient(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        SENDING = "sending"  # handed to the provider, answer not yet recorded
        SENT = "sent"
        DELIVERED = "delivered"
        FAILED = "failed"
        SKIPPED = "skipped"

    # Reasons a recipient was skipped or failed without a provider error.
    OPTED_OUT = "opted_out"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"
    NO_ALLOWED_HOURS = "no_allowed_hours"

    id = models.BigAutoField(primary_key=True)
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="recipients")
    index = models.PositiveIntegerField(help_text="Position in the create request's recipients")
    phone = models.CharField(max_length=20, help_text="E.164")
    contact = models.ForeignKey("crm.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    context = models.JSONField(default=dict, blank=True)
    # The zones whose quiet hours apply: the contact's, else every zone of the number.
    time_zones = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    due_at = models.DateTimeField()
    body = models.TextField(blank=True)
    provider_sid = models.CharField(max_length=64, blank=True)
    # SMS and WhatsApp: the message in the contact's conversation (its status callbacks, the
    # transcript); voice calls have none.
    message = models.OneToOneField(
        "messaging.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="campaign_recipient"
    )
    reason = models.CharField(max_length=30, blank=True)
    error_code = models.CharField(max_length=20, blank=True)
    error = models.CharField(max_length=500, blank=True)
    keypress = models.CharField(max_length=1, blank=True)
    replied_at = models.DateTimeField(null=True, blank=True)
    handed_off_at = models.DateTimeField(null=True, blank=True)
    # Hand-offs tried: a provider 5xx or timeout queues the recipient again, later (backoff).
    attempts = models.PositiveSmallIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["index"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "index"], name="recipient_unique_index"),
        ]
        indexes = [
            # The driver's claim: a campaign's queued recipients that are due, earliest first.
            models.Index(fields=["campaign", "due_at"], condition=Q(status="queued"), name="recipient_campaign_due"),
            # Counts by status; recipients by status in the API.
            models.Index(fields=["campaign", "status"], name="recipient_campaign_status"),
            # Callbacks: a provider's SID (status, gather) finds its recipient.
            models.Index(fields=["provider_sid"], condition=~Q(provider_sid=""), name="recipient_provider_sid"),
            # Replies: a contact's recent campaign messages.
            models.Index(fields=["contact", "handed_off_at"], name="recipient_contact_handed_off"),
        ]

    def __str__(self) -> str:
        return f"{self.phone} in {self.campaign_id} ({self.status})"


class DriverLease(models.Model):
    """One of the CAMPAIGN_DRIVERS slots of a running campaign: the driver that holds it sends
    until `expires_at` (renewed as it goes). Drivers of one campaign claim recipients with SKIP
    LOCKED, so several can send at once and none sends a recipient another claimed."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    slot = models.PositiveSmallIntegerField()
    token = models.UUIDField(null=True, blank=True, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "slot"], name="driver_lease_unique_slot")]

    def __str__(self) -> str:
        return f"{self.campaign_id} slot {self.slot} until {self.expires_at}"


class LinePace(models.Model):
    """The next free send slot of a line: every sender (campaigns, sequences, every worker)
    reserves its slots here, so a line never goes faster than its `mps`."""

    line = models.OneToOneField("crm.Line", on_delete=models.CASCADE, primary_key=True, related_name="+")
    next_slot_at = models.DateTimeField(default=now)

    def __str__(self) -> str:
        return f"{self.line_id} free from {self.next_slot_at}"


class SequenceProgress(models.Model):
    """Where an enrollment (crm) is in its sequence: the next step and when it is due.

    Kept here, beside the sender, so that crm stays free of sending; an enrollment without
    progress is picked up by beat and started at its first step.
    """

    enrollment = models.OneToOneField("crm.Enrollment", on_delete=models.CASCADE, primary_key=True, related_name="+")
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    next_position = models.PositiveSmallIntegerField(default=1)
    due_at = models.DateTimeField(null=True, blank=True, help_text="Empty: finished")
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    lease_token = models.UUIDField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name_plural = "sequence progress"
        indexes = [
            # Beat: steps that are due.
            models.Index(fields=["due_at"], condition=Q(due_at__isnull=False), name="sequence_progress_due"),
        ]

    def __str__(self) -> str:
        return f"{self.enrollment_id} at step {self.next_position}"


class SequenceSend(models.Model):
    """One step sent to one enrollment. The unique key makes a step go out at most once,
    whatever worker dies or message is redelivered."""

    class Status(models.TextChoices):
        SENDING = "sending"
        SENT = "sent"
        FAILED = "failed"
        SKIPPED = "skipped"

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    enrollment = models.ForeignKey("crm.Enrollment", on_delete=models.CASCADE, related_name="+")
    position = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SENDING)
    body = models.TextField(blank=True)
    provider_sid = models.CharField(max_length=64, blank=True)
    reason = models.CharField(max_length=30, blank=True)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=now, editable=False)

    class Meta:
        ordering = ["enrollment", "position"]
        constraints = [
            models.UniqueConstraint(fields=["enrollment", "position"], name="sequence_send_once"),
        ]

    def __str__(self) -> str:
        return f"{self.enrollment_id} step {self.position} ({self.status})"
