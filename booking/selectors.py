"""Reads for booking: the rules, free slots, bookings (one 404 for missing and foreign ids)."""

import datetime as dt
import uuid
from typing import Any

from django.db.models import QuerySet, TextField
from django.db.models.functions import Cast
from django.http import Http404
from django.utils import timezone

from accounts.models import Membership, Role, Workspace

from .availability import Rules, Slot, free_slots
from .models import AvailabilityRules, Booking, CalendlyConnection

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


def calendars_get(*, workspace: Workspace) -> tuple[AvailabilityRules | None, CalendlyConnection | None]:
    """The workspace's availability rules and its enabled Calendly connection, in one query
    (the widget's availability asks for both on every call)."""
    row = Workspace.objects.select_related("availability", "calendly").filter(pk=workspace.pk).first()
    rules = getattr(row, "availability", None)
    connection = getattr(row, "calendly", None)
    if connection is not None and not connection.enabled:
        connection = None
    return rules, connection


def rules_of(row: AvailabilityRules) -> Rules:
    return Rules(**{name: getattr(row, name) for name in RULE_FIELDS})


def held_ranges(*, workspace: Workspace, start: dt.datetime, end: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
    """The [from, until) ranges confirmed bookings hold that meet [start, end).

    The times come as text and are parsed by `datetime.fromisoformat` (C): Django's psycopg
    timestamptz loader is pure Python and cost ~30 µs a value, which for the hundreds of
    bookings of a busy week was most of the availability call. The database gives UTC on
    PostgreSQL (`...+00`, Django sets the session zone) and naive UTC text on SQLite."""
    rows = (
        Booking.objects.filter(
            workspace=workspace,
            status=Booking.Status.CONFIRMED,
            blocked_from__lt=end,
            blocked_until__gt=start,
        )
        .order_by("blocked_from")
        .values_list(Cast("blocked_from", TextField()), Cast("blocked_until", TextField()))
    )
    return [(_instant(held_from), _instant(held_until)) for held_from, held_until in rows]


def _instant(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text)
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


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
