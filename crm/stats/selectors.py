"""Reads of a workspace's figures (GET /api/v1/stats)."""

import datetime
from typing import Any

from django.apps import apps
from django.db.models import Count, Q
from django.db.models.functions import TruncDate

from accounts.models import Workspace
from webhooks.models import Delivery

from ..models import HOT_MESSAGE_COUNT, Contact


def _optional_model(app_label: str, name: str):
    # crm never imports messaging (SPEC §2); it reads its tables when they are installed.
    try:
        return apps.get_model(app_label, name)
    except LookupError:
        return None


def workspace_stats(*, workspace: Workspace, start: datetime.datetime, end: datetime.datetime) -> dict[str, Any]:
    """Figures for [start, end): a handful of aggregate queries, whatever the number of rows."""
    in_range = Q(created_at__gte=start, created_at__lt=end)
    contacts = Contact.objects.filter(workspace=workspace)
    # One pass over the range, grouped by day and source, gives the per-day and per-source
    # figures and (summed) the range's totals; the total of all time is an index-only count
    # on contact_workspace_created.
    groups = list(
        contacts.filter(in_range)
        .annotate(day=TruncDate("created_at"))
        .values("day", "source")
        .annotate(
            count=Count("id"),
            hot=Count("id", filter=Q(message_count__gte=HOT_MESSAGE_COUNT)),
            qualified=Count("id", filter=Q(qualified_at__isnull=False)),
            booked=Count("id", filter=Q(status__in=[Contact.Status.BOOKED, Contact.Status.WON])),
        )
        .order_by()
    )
    totals = {key: sum(group[key] for group in groups) for key in ("hot", "qualified", "booked")}
    totals["in_range"] = sum(group["count"] for group in groups)
    totals["total"] = contacts.count()
    per_day: dict = {}
    sources: dict = {}
    for group in groups:
        per_day[group["day"]] = per_day.get(group["day"], 0) + group["count"]
        sources[group["source"]] = sources.get(group["source"], 0) + group["count"]
    by_source = [
        {"source": source, "count": count}
        for source, count in sorted(sources.items(), key=lambda item: (-item[1], item[0]))
    ]

    conversations = messages = 0
    conversation_model = _optional_model("messaging", "Conversation")
    message_model = _optional_model("messaging", "Message")
    if conversation_model is not None:
        conversations = conversation_model.objects.filter(in_range, workspace=workspace).count()
    if message_model is not None:
        messages = message_model.objects.filter(in_range, workspace=workspace).count()

    deliveries = Delivery.objects.filter(in_range, workspace=workspace).aggregate(
        succeeded=Count("id", filter=Q(status=Delivery.Status.SUCCEEDED)),
        failed=Count("id", filter=Q(status=Delivery.Status.FAILED)),
        pending=Count("id", filter=Q(status=Delivery.Status.PENDING)),
    )

    days = []
    day = start.date()
    while day < end.date() or (day == end.date() and end.time() != datetime.time()):
        days.append({"date": day, "count": per_day.get(day, 0)})
        day += datetime.timedelta(days=1)
    leads_in_range = totals["in_range"]
    return {
        "from": start,
        "to": end,
        "leads": {"total": totals["total"], "in_range": leads_in_range},
        "new_per_day": days,
        "by_source": [{"source": row["source"], "count": row["count"]} for row in by_source],
        "hot": totals["hot"],
        "qualified": totals["qualified"],
        "booked": totals["booked"],
        "conversion_rate": round(totals["booked"] / leads_in_range, 4) if leads_in_range else 0.0,
        "conversations": conversations,
        "messages": messages,
        "webhook_deliveries": deliveries,
    }
