"""Reads of contacts: the access gate (contact_get), search and lists, notes and timeline,
and the people who may own a contact.

Every read takes the workspace explicitly; a contact of another workspace answers exactly as
one that does not exist (Http404).
"""

import threading
import uuid
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.postgres.expressions import ArraySubquery
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection
from django.db.models import Expression, Func, JSONField, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.expressions import RawSQL
from django.http import Http404

from accounts.models import Workspace
from leadhub.compiled import CompiledQuery

from ..catalog.selectors import workspace_users
from ..models import HOT_MESSAGE_COUNT, Contact, Note, Tag, TimelineEntry
from ..normalize import InvalidValue, normalize_email, phone_e164
from . import search


def _uuid_or_404(value: Any) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        raise Http404("No such contact.") from None


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


def contact_identity_filter(*, workspace: Workspace, q: str) -> Q | None:
    """`q` as an exact filter on an indexed column when it is an e-mail address or a phone
    number (any written form, in the workspace's country); None for any other text."""
    text = q.strip()
    if "@" in text and _is_email(text):
        return Q(email=normalize_email(text))
    if any(ch.isdigit() for ch in text):
        try:
            return Q(phone_number=phone_e164(text, default_region=workspace.country))
        except InvalidValue:
            return None
    return None


def contact_search_filter(*, workspace: Workspace, q: str) -> Q:
    """`q` as a filter. An e-mail address or a phone number matches its indexed column exactly
    (contact_identity_filter); anything else is a substring of name, e-mail, phone or company
    (so `ada@` finds ada@example.com), and a partial phone number, with or without separators,
    a part of the phone's digits (search.phone_digits: "(650) 555" finds +16505551234)."""
    text = q.strip()
    if not text:
        return Q()
    exact = contact_identity_filter(workspace=workspace, q=text)
    if exact is not None:
        return exact
    if connection.vendor == "postgresql":  # through the trigram indexes under row-level security
        pattern = f"%{connection.ops.prep_for_like_query(text)}%"
        # A constant statement: the workspace and the pattern travel as parameters.
        return Q(pk__in=RawSQL(search.CALL, [workspace.pk, pattern]))  # noqa: S611
    digits = search.phone_digits(text)
    return (
        Q(name__icontains=text)
        | Q(first_name__icontains=text)
        | Q(last_name__icontains=text)
        | Q(email__icontains=text)
        | (Q(phone_number__contains=digits) if digits is not None else Q(phone_number__icontains=text))
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


# The exact lookup is the call partners make most ("do we know this person?") and the first
# page of the list the one dashboards and integrations poll: building and compiling their
# statements was most of their CPU, so they are compiled once per thread (leadhub/compiled.py)
# and only the values change. One per (column, limit): a page's size; column None for the
# unfiltered list. Each contact's tag names come in its row (tag_names), not by a statement more.
_newest_reads: dict[tuple[str | None, int], CompiledQuery] = {}
_newest_reads_lock = threading.Lock()


def _tag_names() -> Expression:
    """A contact's tag names as one column of its row: an array on PostgreSQL, a JSON array
    (json_group_array, an aggregate over the subquery's rows) on SQLite. Unordered."""
    tags = Tag.objects.filter(contacts=OuterRef("pk"))
    if connection.vendor == "postgresql":
        return ArraySubquery(tags.values("name"))
    names = Func("name", function="json_group_array", output_field=JSONField())
    return Subquery(tags.annotate(names=names).values("names"))


def _newest_read(column: str | None, limit: int) -> CompiledQuery:
    """contacts_base on the workspace (and one identity column, unless None), newest first,
    each contact with its tag names (contact.tag_names, unordered)."""
    key = (column, limit)
    read = _newest_reads.get(key)
    if read is None:
        fields = (Contact._meta.get_field("workspace"),) + ((Contact._meta.get_field(column),) if column else ())
        with _newest_reads_lock:
            read = _newest_reads.setdefault(
                key,
                CompiledQuery(
                    lambda workspace_id, *value: (
                        Contact.objects.filter(workspace_id=workspace_id)
                        .filter(**({column: value[0]} if column else {}))
                        .select_related("disposition_status")
                        .annotate(tag_names=_tag_names())
                        .order_by("-created_at", "-id")[:limit]
                    ),
                    *fields,
                ),
            )
    return read


def contacts_find(*, workspace: Workspace, q: str, limit: int) -> list[Contact] | None:
    """The exact lookup: the first `limit` contacts whose e-mail address or phone number is `q`,
    newest first, as contacts_list(filters={"q": q}) orders them, with their disposition and their
    tag names (contact_tag_names); None when `q` is neither (search it with contacts_list). One
    statement, compiled once."""
    exact = contact_identity_filter(workspace=workspace, q=q)
    if exact is None:
        return None
    ((column, value),) = exact.children
    return _newest_read(column, limit).all(workspace.pk, value)


def contacts_newest(*, workspace: Workspace, limit: int) -> list[Contact]:
    """The first `limit` contacts of contacts_list(workspace=workspace) (no filter), with their
    disposition and their tag names (contact_tag_names). One statement, compiled once."""
    return _newest_read(None, limit).all(workspace.pk)


def contact_tag_names(*, contact: Contact) -> list[str]:
    """The tag names a contact of contacts_find or contacts_newest came with, sorted as Python
    sorts them on the general path (sorted(tag.name)), whatever the database's collation."""
    return sorted(contact.tag_names or ())


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


def workspace_user_get(*, workspace: Workspace, user_id: Any) -> AbstractBaseUser:
    try:
        return workspace_users(workspace=workspace).get(pk=user_id)
    except (get_user_model().DoesNotExist, ValueError, TypeError, ValidationError):
        raise Http404("No such user in this workspace.") from None
