"""Reads for lines: the access gate, the default line, and inbound routing by number."""

import re

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from rest_framework.exceptions import NotFound

from accounts.models import Workspace
from crm.models import Line
from leadhub.compiled import CompiledQuery

from .. import twilio
from ..models import LineProvider

_E164 = re.compile(r"\+[1-9]\d{1,14}")

NOT_A_VERIFIED_LINE = "Not a verified line of this workspace."
NO_VERIFIED_DEFAULT = "The workspace has no verified default line."


def lines_list(*, workspace: Workspace) -> QuerySet[Line]:
    return (
        Line.objects.filter(workspace=workspace)
        .select_related("provider", "provider__brain")
        .order_by("-created_at", "-id")
    )


def line_get(*, workspace: Workspace, line_id) -> Line:
    try:
        pk = int(str(line_id))
    except ValueError:
        raise NotFound("No such line.") from None
    line = lines_list(workspace=workspace).filter(pk=pk).first() if 0 < pk < 2**63 else None
    if line is None:
        raise NotFound("No such line.")
    return line


def line_by_number(*, workspace: Workspace, phone_number: str) -> Line | None:
    """A verified line of the workspace with this E.164 number."""
    return (
        Line.objects.filter(workspace=workspace, phone_number=phone_number, provider__verified_at__isnull=False)
        .select_related("provider")
        .first()
    )


def line_default(*, workspace: Workspace) -> Line | None:
    return (
        Line.objects.filter(workspace=workspace, provider__is_default=True, provider__verified_at__isnull=False)
        .select_related("provider")
        .first()
    )


def line_to_send_from(*, workspace: Workspace, phone_number: str = "") -> Line:
    """The line a send asks for (`from_number`, E.164): a verified line of the workspace with
    that number, else (no number) the verified default line. Anything else is a field error on
    `from_number` (SPEC §7: nothing is routed to an unverified number): send-whatsapp and
    campaigns answer it as a 400 when the request comes, not as a failure when it is sent."""
    if phone_number:
        line = line_by_number(workspace=workspace, phone_number=phone_number)
        if line is None:
            raise ValidationError({"from_number": [NOT_A_VERIFIED_LINE]})
        return line
    line = line_default(workspace=workspace)
    if line is None:
        raise ValidationError({"from_number": [NO_VERIFIED_DEFAULT]})
    return line


def line_for_inbound(*, phone_number: str) -> Line | None:
    """The verified line that receives messages for `phone_number` (the webhook's `To`), with
    its workspace, provider and brain. An unverified number routes nowhere, nor does what is
    not a number at all (PostgreSQL cannot even compare a string holding NUL)."""
    if not _E164.fullmatch(phone_number or ""):
        return None
    return _FOR_INBOUND.first(phone_number)


# Every inbound message's line: compiled once (leadhub/compiled.py), as the
# ORM spent more CPU compiling this four-table read than PostgreSQL spent running it. In the
# model's order, as .first() read it (verified numbers are unique: one row at most).
_FOR_INBOUND = CompiledQuery(
    lambda phone_number: (
        Line.objects.filter(phone_number=phone_number)
        .filter(provider__verified_at__isnull=False)
        .select_related("workspace", "provider", "provider__brain")
        .order_by(*Line._meta.ordering)[:1]
    ),
    Line._meta.get_field("phone_number"),
)


def account_of(provider: LineProvider) -> twilio.Account:
    return twilio.Account(
        provider=provider.provider,
        account_sid=provider.account_sid,
        auth_token=provider.auth_token,
        signalwire_space=provider.signalwire_space,
        signing_key=provider.signing_key,
    )
