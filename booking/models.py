"""Booking: a workspace's availability rules, its bookings, and its Calendly connection."""

import uuid
import zoneinfo

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from leadhub.crypto import EncryptedTextField

from .slots import WEEKDAYS


def default_weekly() -> dict:
    return {day: [["09:00", "17:00"]] for day in WEEKDAYS[:5]}


def validate_timezone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValidationError(f"{value!r} is not an IANA time zone (for example America/New_York).") from None


class AvailabilityRules(models.Model):
    """When a workspace takes meetings. Hours are wall-clock times in `timezone`, so a slot keeps
    its local time across a DST change. One row per workspace; without one, the native
    calendar does not answer (Calendly or the brain's booking link does)."""

    workspace = models.OneToOneField("accounts.Workspace", on_delete=models.CASCADE, related_name="availability")
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    slot_minutes = models.PositiveSmallIntegerField(default=30)
    buffer_minutes = models.PositiveSmallIntegerField(default=0)
    min_notice_minutes = models.PositiveIntegerField(default=60)
    horizon_days = models.PositiveSmallIntegerField(default=7)
    # {"mon": [["09:00", "17:00"]], ...}: ranges per weekday, sorted, not overlapping.
    weekly = models.JSONField(default=default_weekly, blank=True)
    # [{"date": "2026-12-24", "hours": []}]: a date's own ranges instead of its weekday's.
    overrides = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "availability rules"

    def __str__(self) -> str:
        return f"Availability of {self.workspace}"


class Booking(models.Model):
    """A meeting with a contact. A confirmed booking holds [start, end + buffer) of the
    workspace's calendar (`blocked_from`, `blocked_until`); no two held ranges of a workspace
    overlap (PostgreSQL: an exclusion constraint, migration 0002; SQLite: the check in
    booking_create inside its IMMEDIATE transaction). A requested one has no time yet."""

    class Status(models.TextChoices):
        REQUESTED = "requested"
        CONFIRMED = "confirmed"
        CANCELLED = "cancelled"

    class Source(models.TextChoices):
        WIDGET = "widget"
        API = "api"
        CALENDLY = "calendly"
        CONVERSATION = "conversation"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="bookings")
    contact = models.ForeignKey("crm.Contact", on_delete=models.CASCADE, related_name="bookings")
    status = models.CharField(max_length=10, choices=Status.choices)
    source = models.CharField(max_length=12, choices=Source.choices, default=Source.WIDGET)
    start = models.DateTimeField(null=True, blank=True)
    end = models.DateTimeField(null=True, blank=True)
    buffer_minutes = models.PositiveSmallIntegerField(default=0)
    blocked_from = models.DateTimeField(null=True, blank=True, editable=False)
    blocked_until = models.DateTimeField(null=True, blank=True, editable=False)
    name = models.CharField(max_length=200)
    email = models.EmailField(max_length=254)
    phone = models.CharField(max_length=20, blank=True)
    message = models.TextField(blank=True, max_length=2000)
    preferred_time = models.CharField(max_length=200, blank=True)
    brain_slug = models.CharField(max_length=80, blank=True)
    # The ICS revision (RFC 5545 SEQUENCE): 0 for the invite, higher for each change after.
    sequence = models.PositiveIntegerField(default=0)
    # The last SEQUENCE whose e-mails went out: a retried or repeated send task skips it.
    notified_sequence = models.IntegerField(default=-1)
    # Calendly: the invitee's URI (unique per workspace: redelivered webhooks are one booking)
    # and, for a booking made through a scheduling link, the link handed out.
    calendly_invitee_uri = models.CharField(max_length=500, null=True, blank=True)  # noqa: DJ001
    calendly_event_uri = models.CharField(max_length=500, blank=True)
    scheduling_url = models.CharField(max_length=500, blank=True)
    cancel_reason = models.CharField(max_length=500, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "calendly_invitee_uri"],
                condition=models.Q(calendly_invitee_uri__isnull=False),
                name="booking_unique_calendly_invitee",
            ),
            # A request has no time yet; cancelling it keeps it without one.
            models.CheckConstraint(
                condition=models.Q(status__in=["requested", "cancelled"])
                | models.Q(start__isnull=False, end__isnull=False),
                name="booking_time_unless_requested",
            ),
            models.CheckConstraint(
                condition=models.Q(start__isnull=True) | models.Q(end__gt=models.F("start")),
                name="booking_ends_after_start",
            ),
        ]
        indexes = [
            # Availability and the overlap check: a workspace's held ranges that end after a
            # window starts (blocked_until > start, then blocked_from < end), so the scan covers
            # what is still ahead and skips the workspace's history, however long.
            models.Index(fields=["workspace", "blocked_until"], name="booking_workspace_held"),
            # The bookings list: newest first.
            models.Index(fields=["workspace", "-created_at"], name="booking_workspace_created"),
            # The from/to filters of the list.
            models.Index(fields=["workspace", "start"], name="booking_workspace_start"),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.start or self.preferred_time} ({self.status})"

    @property
    def uid(self) -> str:
        """The iCalendar UID: stable for the booking's whole life (invite, cancel)."""
        return f"{self.id}@leadhub"


class CalendlyConnection(models.Model):
    """A workspace's Calendly account: a personal access token, the event type offered, and the
    key Calendly signs its webhooks with (token and key encrypted at rest, never shown back).
    The event type's name, length and public page are kept from when it was connected."""

    workspace = models.OneToOneField("accounts.Workspace", on_delete=models.CASCADE, related_name="calendly")
    token = EncryptedTextField(help_text="Personal access token (write-only)")
    event_type_uri = models.CharField(max_length=500, help_text="https://api.calendly.com/event_types/…")
    signing_key = EncryptedTextField(blank=True, help_text="Webhook signing key (write-only)")
    event_type_name = models.CharField(max_length=200, blank=True)
    duration_minutes = models.PositiveSmallIntegerField(default=30)
    scheduling_url = models.CharField(max_length=500, blank=True)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            # The webhook finds its connection by the event type of the scheduled event.
            models.Index(fields=["event_type_uri"], name="calendly_event_type"),
        ]

    def __str__(self) -> str:
        return f"Calendly of {self.workspace}"


class SlotOffer(models.Model):
    """The free slots a brain offered in a WhatsApp or SMS conversation (booking/conversation/skill.py),
    numbered in this order: the lead's next messages may pick one by its number or its time.
    One per conversation; a new offer replaces it, and a booking made from it ends it."""

    conversation = models.OneToOneField(
        "messaging.Conversation", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    starts = models.JSONField(default=list, help_text="The offered slots' starts, UTC ISO 8601, as numbered")
    time_zone = models.CharField(max_length=64, help_text="The zone the times were written in")
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    def __str__(self) -> str:
        return f"{len(self.starts)} slots offered in {self.conversation_id}"
