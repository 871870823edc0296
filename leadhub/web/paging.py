"""Keyset pages for dashboard lists (newest first by created_at, then id): the cost of a page
does not grow with how deep it is, and a cursor survives rows arriving in between."""

import base64
import datetime
import uuid
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

PAGE_SIZE = 50


@dataclass
class Page:
    items: list[Any]
    next_cursor: str | None
    is_first: bool


def _encode(created_at: datetime.datetime, pk: Any) -> str:
    raw = f"{created_at.isoformat()}|{pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> tuple[datetime.datetime, str] | None:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, pk = raw.split("|", 1)
        created_at = datetime.datetime.fromisoformat(when)
    except (ValueError, UnicodeDecodeError):
        return None
    if created_at.tzinfo is None:
        return None
    return created_at, pk


def keyset_page(queryset: QuerySet, cursor: str | None, *, size: int = PAGE_SIZE) -> Page:
    """The page after `cursor` (the first page without one, or with one that does not parse)
    of a queryset ordered by -created_at, -id."""
    position = _decode(cursor) if cursor else None
    if position is not None:
        created_at, pk = position
        pk_field = queryset.model._meta.pk
        try:
            pk_value = uuid.UUID(pk) if pk_field.get_internal_type() == "UUIDField" else int(pk)
        except ValueError:
            position = None
        else:
            queryset = queryset.filter(Q(created_at__lt=created_at) | Q(created_at=created_at, pk__lt=pk_value))
    rows = list(queryset.order_by("-created_at", "-pk")[: size + 1])
    items = rows[:size]
    next_cursor = _encode(items[-1].created_at, items[-1].pk) if len(rows) > size else None
    return Page(items=items, next_cursor=next_cursor, is_first=position is None)
