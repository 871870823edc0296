"""Reads for the CRM: the access gate of each tenant model, contact search and lists, stats.

Every read takes the workspace explicitly; an object of another workspace answers exactly as
one that does not exist (Http404).
"""

import datetime
import uuid
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import Count, Prefetch, Q, QuerySet
from django.db.models.functions import TruncDate
from django.http import Http404

from accounts.models import Workspace
from webhooks.models import Delivery

from .models import (
    HOT_MESSAGE_COUNT,
    Contact,
    DispositionStatus,
    Line,
    Note,
    RingGroup,
    RingGroupMember,
    Sequence,
    SequenceStep,
    Tag,
    TimelineEntry,
)
from .normalize import InvalidValue, normalize_email, parse_phone


def _uuid_or_404(value: Any) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        raise Http404("No such contact.") from None


# --- Contacts ------------------------------------------------------------------------------


def contacts_base(*, workspace: Workspace) -> QuerySet[Contact]:
    """The workspace's contacts with what their representation reads, in a fixed number of queries."""
    return (
        Contact.objects.filter(workspace=workspace)
        .select_related("disposition_status")
        .prefetch_related(Prefetch("tags", queryset=Tag.objects.only("id", "name")))
    )


def contact_get(*, workspace: Workspace, contact_id: Any) -> Contact:
    """The workspace's contact; a missing, foreign or malformed id raises the same 404."""
    pk = _uuid_or_404(contact_id)
    try:
        return contacts_base(workspace=workspace).get(pk=pk)
    except Contact.DoesNotExist:
        raise Http404("No such contact.") from None


def contact_get_by_session(*, workspace: Workspace, session_id: str) -> Contact:
    """The workspace's (oldest) contact of a widget session, by the indexed session column."""
    contact = (
        Contact.objects.filter(workspace=workspace, session_id=str(session_id)).order_by("created_at").first()
        if session_id
        else None
    )
    if contact is None:
        raise Http404("No contact has this session_id.")
    return contact


def _is_email(text: str) -> bool:
    try:
        validate_email(text)
    except ValidationError:
        return False
    return True


def contact_search_filter(*, workspace: Workspace, q: str) -> Q:
    """`q` as a filter. An e-mail address or a phone number (any written form, in the
    workspace's country) matches its indexed column exactly; anything else is a substring of
    name, e-mail, phone or company (so `ada@` finds ada@example.com)."""
    text = q.strip()
    if not text:
        return Q()
    if "@" in text and _is_email(text):
        return Q(email=normalize_email(text))
    if any(ch.isdigit() for ch in text):
        try:
            phone = parse_phone(text, default_region=workspace.country)
        except InvalidValue:
            pass
        else:
            return Q(phone_number=phone.e164)
    return (
        Q(name__icontains=text)
        | Q(first_name__icontains=text)
        | Q(last_name__icontains=text)
        | Q(email__icontains=text)
        | Q(phone_number__icontains=text)
        | Q(company_name__icontains=text)
    )


def contacts_list(*, workspace: Workspace, filters: dict[str, Any] | None = None) -> QuerySet[Contact]:
    """The workspace's contacts, filtered: q, status, tag (name), owner (user id), source, hot,
    created_after, created_before. Unknown keys are ignored. Newest first."""
    filters = filters or {}
    qs = contacts_base(workspace=workspace)
    if filters.get("q"):
        qs = qs.filter(contact_search_filter(workspace=workspace, q=str(filters["q"])))
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    if filters.get("tag"):
        qs = qs.filter(tags__name=filters["tag"])
    if filters.get("owner") is not None:
        qs = qs.filter(owner_id=filters["owner"])
    if filters.get("source"):
        qs = qs.filter(source=filters["source"])
    if filters.get("hot") is not None:
        hot = Q(message_count__gte=HOT_MESSAGE_COUNT)
        qs = qs.filter(hot if filters["hot"] else ~hot)
    if filters.get("created_after"):
        qs = qs.filter(created_at__gte=filters["created_after"])
    if filters.get("created_before"):
        qs = qs.filter(created_at__lt=filters["created_before"])
    return qs.order_by("-created_at", "-id")


def contact_identity_clash(
    *, workspace: Workspace, phone_number: str | None, email: str | None, exclude: Contact | None = None
) -> tuple[str, Contact] | None:
    """The field and the other contact that already are this identity (one person, one
    contact: the phone, else the e-mail without a phone), or None."""
    others = Contact.objects.filter(workspace=workspace)
    if exclude is not None:
        others = others.exclude(pk=exclude.pk)
    if phone_number:
        found = others.filter(phone_number=phone_number).only("id").first()
        return ("phone_number", found) if found else None
    if email:
        found = others.filter(phone_number__isnull=True, email=email).only("id").first()
        return ("email", found) if found else None
    return None


def contact_notes(*, contact: Contact) -> QuerySet[Note]:
    return Note.objects.filter(workspace_id=contact.workspace_id, contact=contact).order_by("-created_at", "-id")


def contact_timeline(*, contact: Contact) -> QuerySet[TimelineEntry]:
    return TimelineEntry.objects.filter(workspace_id=contact.workspace_id, contact=contact).order_by(
        "-created_at", "-id"
    )


def contacts_recent(*, workspace: Workspace, hot: bool = False, limit: int = 10) -> list[Contact]:
    """Zapier polling: the newest leads (only hot ones if asked)."""
    qs = Contact.objects.filter(workspace=workspace)
    if hot:
        qs = qs.filter(message_count__gte=HOT_MESSAGE_COUNT)
    return list(qs.order_by("-created_at", "-id")[:limit])


# --- What organises contacts ---------------------------------------------------------------


def tags_list(*, workspace: Workspace) -> QuerySet[Tag]:
    return Tag.objects.filter(workspace=workspace)


def tag_get(*, workspace: Workspace, name: str) -> Tag | None:
    return Tag.objects.filter(workspace=workspace, name=name).first()


def dispositions_list(*, workspace: Workspace) -> QuerySet[DispositionStatus]:
    return DispositionStatus.objects.filter(workspace=workspace)


def lines_list(*, workspace: Workspace) -> QuerySet[Line]:
    return Line.objects.filter(workspace=workspace)


def ring_groups_list(*, workspace: Workspace) -> QuerySet[RingGroup]:
    return RingGroup.objects.filter(workspace=workspace).prefetch_related(
        Prefetch("members", queryset=RingGroupMember.objects.order_by("id"))
    )


def sequences_list(*, workspace: Workspace) -> QuerySet[Sequence]:
    return Sequence.objects.filter(workspace=workspace).prefetch_related(
        Prefetch("steps", queryset=SequenceStep.objects.order_by("position"))
    )


def workspace_users(*, workspace: Workspace) -> QuerySet[AbstractBaseUser]:
    """People who may own contacts or answer in ring groups: members and agency staff."""
    users = get_user_model().objects.all()
    condition = Q(memberships__workspace=workspace)
    if workspace.agency_id:
        condition |= Q(agency_memberships__agency_id=workspace.agency_id)
    return users.filter(condition).distinct()


def workspace_user_get(*, workspace: Workspace, user_id: Any) -> AbstractBaseUser:
    try:
        return workspace_users(workspace=workspace).get(pk=user_id)
    except (get_user_model().DoesNotExist, ValueError, TypeError, ValidationError):
        raise Http404("No such user in this workspace.") from None


# --- Stats ---------------------------------------------------------------------------------


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
