"""Writes of availability: the workspace's rules, replaced whole."""

from typing import Any

from django.db import transaction

from accounts.models import Workspace

from ..models import AvailabilityRules


def rules_set(*, workspace: Workspace, values: dict[str, Any]) -> AvailabilityRules:
    """Replace the workspace's rules (a PUT): fields left out take their defaults."""
    rules = AvailabilityRules(workspace=workspace, **values)
    with transaction.atomic():
        existing = AvailabilityRules.objects.select_for_update().filter(workspace=workspace).first()
        if existing is not None:
            rules.pk = existing.pk
        rules.save()
    return rules
