"""Reads of a workspace's figures (GET /api/v1/stats)."""

import datetime
from typing import Any

from django.apps import apps
from django.db.models import Count, Q, Sum

from accounts.models import Workspace
from webhooks.models import Delivery

from ..models import DailyLeadCount


def _optional_model(app_label: str, name: str):
    # crm never imports messaging (SPEC §2); it reads its tables when they are installed.
    try:
        return apps.get_model(app_label, name)
    except LookupError:
        return None


def _day_after(end: datetime.datetime) -> datetime.date:
    """The first day not in [start, end): end's day, unless end is within it."""
    return end.date() + datetime.timedelta(days=1) if end.time() != datetime.time() else end.date()


def workspace_stats(*, workspace: Workspace, start: datetime.datetime, end: datetime.datetime) -> dict[str, Any]:
    """Figures for [start, end): a handful of aggregate queries, whatever the number of rows."""
    in_range = Q(created_at__gte=start, created_at__lt=end)
    # The lead figures come from the daily counters the contact writer keeps (DailyLeadCount):
    # a few rows per day, whatever the number of contacts.
    counters = DailyLeadCount.objects.filter(workspace=workspace)
    groups = list(
        counters.filter(day__gte=start.date(), day__lt=_day_after(end))
        .values("day", "source")
        .annotate(count=Sum("leads"), hot=Sum("hot"), qualified=Sum("qualified"), booked=Sum("booked"))
        .order_by()
    )
    groups = [group for group in groups if group["count"]]
    totals = {key: sum(group[key] for group in groups) for key in ("hot", "qualified", "booked")}
    totals["in_range"] = sum(group["count"] for group in groups)
    totals["total"] = counters.aggregate(total=Sum("leads"))["total"] or 0
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
