"""Reads for booking: the rules, free slots, bookings (one 404 for missing and foreign ids)."""

import datetime as dt
import uuid
from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.models import Membership, Role, Workspace

from .availability import Rules, Slot, free_slots
from .models import AvailabilityRules, Booking

RULE_FIELDS = (
    "timezone",
    "slot_minutes",
    "buffer_minutes",
    "min_notice_minutes",
    "horizon_days",
    "weekly",
    "overrides",
)


def rules_get(*, workspace: Workspace) -> AvailabilityRules | None:
    return AvailabilityRules.objects.filter(workspace=workspace).first()


def rules_of(row: AvailabilityRules) -> Rules:
    return Rules(**{name: getattr(row, name) for name in RULE_FIELDS})


def held_ranges(*, workspace: Workspace, start: dt.datetime, end: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
    """The [from, until) ranges confirmed bookings hold that meet [start, end)."""
    return list(
        Booking.objects.filter(
            workspace=workspace,
            status=Booking.Status.CONFIRMED,
            blocked_from__lt=end,
            blocked_until__gt=start,
        )
        .order_by("blocked_from")
        .values_list("blocked_from", "blocked_until")
    )


def native_slots(*, workspace: Workspace, rules: AvailabilityRules, now: dt.datetime | None = None) -> list[Slot]:
    """Free slots from now to now + horizon: the rules minus held ranges and minimum notice."""
    now = now or timezone.now()
    spec = rules_of(rules)
    window_end = now + dt.timedelta(days=spec.horizon_days, minutes=spec.buffer_minutes)
    return free_slots(spec, now=now, held=held_ranges(workspace=workspace, start=now, end=window_end))


def range_is_free(*, workspace: Workspace, start: dt.datetime, until: dt.datetime) -> bool:
    return not Booking.objects.filter(
        workspace=workspace, status=Booking.Status.CONFIRMED, blocked_from__lt=until, blocked_until__gt=start
    ).exists()


def bookings_list(*, workspace: Workspace, filters: dict[str, Any] | None = None) -> QuerySet[Booking]:
    filters = filters or {}
    bookings = Booking.objects.filter(workspace=workspace)
    if filters.get("from"):
        bookings = bookings.filter(start__gte=filters["from"])
    if filters.get("to"):
        bookings = bookings.filter(start__lt=filters["to"])
    if filters.get("status"):
        bookings = bookings.filter(status=filters["status"])
    if filters.get("contact"):
        bookings = bookings.filter(contact_id=filters["contact"])
    return bookings


def booking_get(*, workspace: Workspace, booking_id: Any) -> Booking:
    """The workspace's booking; a missing, foreign or malformed id is the same 404."""
    try:
        pk = uuid.UUID(str(booking_id))
    except (TypeError, ValueError, AttributeError):
        raise Http404("No such booking.") from None
    booking = Booking.objects.filter(workspace=workspace, pk=pk).first()
    if booking is None:
        raise Http404("No such booking.")
    return booking


def owner_emails(*, workspace: Workspace) -> list[str]:
    """Who hears of a workspace's bookings: its owners with an e-mail address."""
    emails = Membership.objects.filter(workspace=workspace, role=Role.OWNER).values_list("user__email", flat=True)
    return sorted({email for email in emails if email})
