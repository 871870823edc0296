"""Small template helpers of the dashboard."""

import datetime

from django import template
from django.utils import timezone

register = template.Library()


@register.filter
def duration(value: datetime.timedelta | float | int | None) -> str:
    """A time span as a person reads it: 45 s, 12 min, 3.5 h, 2.1 d; an em dash for none."""
    if value is None or value == "":
        return "—"
    seconds = value.total_seconds() if isinstance(value, datetime.timedelta) else float(value)
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


@register.filter
def since(value: datetime.datetime | None) -> str:
    if value is None:
        return "—"
    elapsed = timezone.now() - value
    if elapsed.total_seconds() < 60:
        return "just now"
    return duration(elapsed) + " ago"
