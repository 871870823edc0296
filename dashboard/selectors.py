"""Reads that span apps, for the dashboard's agency view and stats page: each figure is one
grouped query over every workspace asked for, never a query per workspace."""

import datetime
from typing import Any

from django.apps import apps
from django.db.models import Count, F, Min, Q

from accounts.models import Agency, Workspace
from crm.models import HOT_MESSAGE_COUNT, Contact
from leadhub import lookups
from messaging.models import Message
from webhooks.models import Delivery


def speed_to_lead(*, workspace_ids: list, since: datetime.datetime, until: datetime.datetime) -> dict:
    """workspace id -> {"avg": timedelta, "answered": n} for leads that arrived in [since, until)
    and were answered: the time from a lead's arrival to the first message sent to it.

    Driven from the replies (the messages index by workspace and time), one row per answered
    lead, averaged here: a correlated subquery per lead would be estimated (and, with
    PostgreSQL's JIT, compiled) as if every lead of the range had to be looked up.
    """
    rows = (
        Message.objects.filter(
            workspace_id__in=workspace_ids,
            role=Message.Role.ASSISTANT,
            created_at__gte=since,
            conversation__contact__created_at__gte=since,
            conversation__contact__created_at__lt=until,
        )
        .filter(created_at__gte=F("conversation__contact__created_at"))
        .values_list("workspace_id", "conversation__contact_id", "conversation__contact__created_at")
        .annotate(first_reply=Min("created_at"))
        .order_by()
    )
    totals: dict = {}
    for workspace_id, _contact_id, arrived, first_reply in rows:
        total, answered = totals.get(workspace_id, (datetime.timedelta(0), 0))
        totals[workspace_id] = (total + (first_reply - arrived), answered + 1)
    return {
        workspace_id: {"avg": total / answered, "answered": answered}
        for workspace_id, (total, answered) in totals.items()
    }


def _booking_model():
    # The booking app arrives separately (issue 10); until it is installed there is no column.
    if not apps.is_installed("booking"):
        return None
    return apps.get_model("booking", "Booking")


def agency_overview(*, agency: Agency, person, days: int = 7) -> dict[str, Any]:
    """Every workspace of the agency with its new and hot leads, speed to lead, bookings and
    failed deliveries of the last `days` days, for a person who staffs it (none otherwise).

    The columns lie across workspaces: on PostgreSQL one named lookup of row-level security
    (leadhub/postgresql/lookups.py) answers them, aggregates only, in one query; on SQLite, where
    the ORM is the wall, one query per column."""
    now = datetime.datetime.now(datetime.UTC)
    since = now - datetime.timedelta(days=days)
    workspaces = list(Workspace.objects.filter(agency=agency).select_related("plan").order_by("name"))
    found = lookups.rows("agency_overview", person.pk, agency.pk, since, now, HOT_MESSAGE_COUNT)
    if found is not None:
        figures = {row[0]: row[1:] for row in found}
        rows = []
        for workspace in workspaces:
            if workspace.pk not in figures:
                continue  # not staff of the agency: nothing
            new, hot, failed, bookings, speed, answered = figures[workspace.pk]
            rows.append(
                {
                    "workspace": workspace,
                    "new": new,
                    "hot": hot,
                    "speed": speed / answered if answered else None,
                    "answered": answered,
                    "bookings": bookings,
                    "failed": failed,
                }
            )
        return {"rows": rows, "since": since, "days": days, "has_bookings": True}
    ids = [workspace.pk for workspace in workspaces]
    leads = {
        row["workspace_id"]: row
        for row in Contact.objects.filter(workspace_id__in=ids, created_at__gte=since)
        .values("workspace_id")
        # Counted on workspace_id (never NULL), not id: workspace, created_at and message_count
        # are all in the index contact_workspace_window (crm migration 0004), so PostgreSQL
        # counts from the index alone.
        .annotate(new=Count("workspace_id"), hot=Count("workspace_id", filter=Q(message_count__gte=HOT_MESSAGE_COUNT)))
        .order_by()
    }
    speed = speed_to_lead(workspace_ids=ids, since=since, until=now)
    failed = dict(
        Delivery.objects.filter(workspace_id__in=ids, status=Delivery.Status.FAILED, created_at__gte=since)
        .values("workspace_id")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("workspace_id", "n")
    )
    booking = _booking_model()
    bookings = None
    if booking is not None:
        bookings = dict(
            booking.objects.filter(workspace_id__in=ids, created_at__gte=since)
            .exclude(status="cancelled")
            .values("workspace_id")
            .annotate(n=Count("id"))
            .order_by()
            .values_list("workspace_id", "n")
        )
    rows = []
    for workspace in workspaces:
        lead_row = leads.get(workspace.pk, {})
        rows.append(
            {
                "workspace": workspace,
                "new": lead_row.get("new", 0),
                "hot": lead_row.get("hot", 0),
                "speed": speed.get(workspace.pk, {}).get("avg"),
                "answered": speed.get(workspace.pk, {}).get("answered", 0),
                "bookings": None if bookings is None else bookings.get(workspace.pk, 0),
                "failed": failed.get(workspace.pk, 0),
            }
        )
    return {"rows": rows, "since": since, "days": days, "has_bookings": bookings is not None}
