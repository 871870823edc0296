"""Contacts (leads) and what organises them: tags, notes, dispositions, lines, ring groups, the
power-dialer queue, sequences and enrollments, and each contact's timeline."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.timezone import now

HOT_MESSAGE_COUNT = 5  # SPEC §5: a lead is hot from 5 exchanged messages on


class Tag(models.Model):
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=now, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="tag_unique_name")]

    def __str__(self) -> str:
        return self.name


class DispositionStatus(models.Model):
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="dispositions")
    name = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=now, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "disposition statuses"
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="disposition_unique_name")]

    def __str__(self) -> str:
        return self.name


class Line(models.Model):
    """A phone number of the workspace (Twilio or SignalWire); inbound messages find the
    workspace through their `To` number."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="lines")
    name = models.CharField(max_length=100)
    phone_number = models.CharField(max_length=20, unique=True, help_text="E.164")
    created_at = models.DateTimeField(default=now, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.phone_number})"


class RingGroup(models.Model):
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="ring_groups")
    name = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=now, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RingGroupMember(models.Model):
    ring_group = models.ForeignKey(RingGroup, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    is_available = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["ring_group", "user"], name="ring_group_member_unique")]

    def __str__(self) -> str:
        return f"{self.user} in {self.ring_group}"


class Sequence(models.Model):
    """Ordered SMS steps with delays; its messages are sent by the messaging work."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="sequences")
    name = models.CharField(max_length=100)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=now, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SequenceStep(models.Model):
    sequence = models.ForeignKey(Sequence, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    delay_minutes = models.PositiveIntegerField(default=0)
    message = models.TextField()

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["sequence", "position"], name="sequence_step_unique_position")]

    def __str__(self) -> str:
        return f"{self.sequence} #{self.position}"


class Contact(models.Model):
    class Status(models.TextChoices):
        NEW = "new"
        QUALIFIED = "qualified"
        BOOKED = "booked"
        WON = "won"
        LOST = "lost"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No index of its own: every index of Meta.indexes starts with it (one index less per insert).
    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="contacts", db_index=False
    )
    # Identity (SPEC §5, "one person, one contact"): the E.164 phone, else the lower-cased
    # e-mail. NULL, not "", when absent, so the unique constraints below ignore it.
    phone_number = models.CharField(max_length=20, null=True, blank=True)  # noqa: DJ001 (NULL: see above)
    email = models.EmailField(max_length=254, null=True, blank=True)  # noqa: DJ001
    name = models.CharField(max_length=200, blank=True)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    other_phone_numbers = models.JSONField(default=list, blank=True)
    company_name = models.CharField(max_length=200, blank=True)
    website = models.CharField(max_length=500, blank=True)
    address = models.CharField(max_length=300, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=100, blank=True)
    zipcode = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=100, blank=True)
    timezone = models.CharField(max_length=64, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    lead_source = models.CharField(max_length=100, blank=True)
    source = models.CharField(max_length=100, blank=True)
    notes = models.TextField(blank=True)
    csf1 = models.CharField(max_length=500, blank=True)
    csf2 = models.CharField(max_length=500, blank=True)
    custom_fields = models.JSONField(default=dict, blank=True)
    # Owner, line and disposition: NULL on most contacts, so each is indexed only where set
    # (Meta.indexes): a new lead writes no entry for them.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, db_index=False
    )
    line = models.ForeignKey(
        Line, null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts", db_index=False
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="contacts")
    disposition_status = models.ForeignKey(
        DispositionStatus, null=True, blank=True, on_delete=models.SET_NULL, db_index=False
    )
    session_id = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001 (like phone and e-mail)
    message_count = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEW)
    qualified_at = models.DateTimeField(null=True, blank=True)
    # Attribution: utm_source, utm_medium, utm_campaign, utm_term, utm_content, page_url,
    # referrer and "at", as first seen and as last seen.
    first_touch = models.JSONField(default=dict, blank=True)
    latest_touch = models.JSONField(default=dict, blank=True)
    sms_opt_out = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=now, editable=False, db_index=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "phone_number"],
                condition=Q(phone_number__isnull=False),
                name="contact_unique_phone",
            ),
            models.UniqueConstraint(
                fields=["workspace", "email"],
                condition=Q(phone_number__isnull=True, email__isnull=False),
                name="contact_unique_email_without_phone",
            ),
        ]
        indexes = [
            # Contact lists and Zapier polling: a workspace's newest first.
            models.Index(fields=["workspace", "-created_at", "-id"], name="contact_workspace_created"),
            # Identity by e-mail (upsert, search by exact e-mail); phone has its unique index.
            models.Index(fields=["workspace", "email"], name="contact_workspace_email"),
            # The widget's conversation joins its lead by session (only widget leads have one).
            models.Index(
                fields=["workspace", "session_id"],
                condition=Q(session_id__isnull=False),
                name="contact_workspace_session",
            ),
            # Filters and stats by status.
            models.Index(fields=["workspace", "status", "-created_at"], name="contact_workspace_status"),
            # The foreign keys' own indexes, where set: what a deleted user, line or disposition
            # sets to NULL (`owner_id IN (…)` implies NOT NULL, so these serve it), and the
            # owner filter of the contacts list.
            models.Index(fields=["owner"], condition=Q(owner__isnull=False), name="contact_owner"),
            models.Index(fields=["line"], condition=Q(line__isnull=False), name="contact_line"),
            models.Index(
                fields=["disposition_status"],
                condition=Q(disposition_status__isnull=False),
                name="contact_disposition",
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.email or self.phone_number or str(self.id)

    @property
    def is_hot(self) -> bool:
        return self.message_count >= HOT_MESSAGE_COUNT


class Note(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="contact_notes")
    body = models.TextField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=now, editable=False)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["contact", "-created_at"], name="note_contact_created")]

    def __str__(self) -> str:
        return self.body[:50]


class TimelineEntry(models.Model):
    class Kind(models.TextChoices):
        CREATED = "created"
        INTAKE = "intake"
        UPDATED = "updated"
        NOTE = "note"
        STATUS = "status"
        OWNER = "owner"
        TAG = "tag"
        DISPOSITION = "disposition"
        LINE = "line"
        SEQUENCE = "sequence"
        POWER_DIALER = "power_dialer"

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    # Indexed by timeline_contact_created, which starts with it.
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="timeline", db_index=False)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "timeline entries"
        indexes = [models.Index(fields=["contact", "-created_at"], name="timeline_contact_created")]

    def __str__(self) -> str:
        return f"{self.kind} on {self.contact_id}"


class PowerDialerEntry(models.Model):
    """A contact queued in its owner's power dialer; lower positions are called first."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="power_dialer_entries")
    position = models.IntegerField()
    created_at = models.DateTimeField(default=now, editable=False)

    class Meta:
        ordering = ["position"]
        verbose_name_plural = "power dialer entries"
        constraints = [
            models.UniqueConstraint(fields=["workspace", "owner", "contact"], name="power_dialer_unique_contact")
        ]
        indexes = [models.Index(fields=["workspace", "owner", "position"], name="power_dialer_queue")]

    def __str__(self) -> str:
        return f"{self.contact_id} at {self.position}"


class Enrollment(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active"
        STOPPED = "stopped"
        COMPLETED = "completed"

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    sequence = models.ForeignKey(Sequence, on_delete=models.CASCADE, related_name="enrollments")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="enrollments")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    enrolled_at = models.DateTimeField(default=now)
    stopped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["sequence", "contact"], condition=Q(status="active"), name="enrollment_one_active"
            )
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} in {self.sequence_id} ({self.status})"


class DailyLeadCount(models.Model):
    """Per workspace, creation day (UTC) and source: how many leads, and how many of them are
    hot, qualified and booked now. Kept by the contact writer in the transaction of each change
    (crm/stats/counters.py), so GET /api/v1/stats reads these rows and never scans contacts.

    Each change adds to one of SHARDS rows of its (workspace, day, source), picked at random,
    so that concurrent leads of one workspace do not queue on one row's lock; reads sum them.
    """

    SHARDS = 8

    # Indexed by daily_lead_count_unique, which starts with it.
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+", db_index=False)
    day = models.DateField()
    source = models.CharField(max_length=100, blank=True)
    shard = models.PositiveSmallIntegerField(default=0)
    leads = models.IntegerField(default=0)
    hot = models.IntegerField(default=0)
    qualified = models.IntegerField(default=0)
    booked = models.IntegerField(default=0)

    class Meta:
        constraints = [
            # Also the index of the stats read: a workspace's rows over a range of days.
            models.UniqueConstraint(fields=["workspace", "day", "source", "shard"], name="daily_lead_count_unique")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.source or '-'}: {self.leads}"
