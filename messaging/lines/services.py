"""Writes for lines: connect a number with its provider credentials (verified first), change
them (verified again), make a line the default, delete it."""

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone

from accounts.models import Workspace
from crm.catalog.services import line_create
from crm.models import Line
from crm.normalize import Phone
from leadhub.exceptions import AlreadyExists, Conflict

from .. import twilio
from ..models import Brain, LineProvider

PROVIDER_FIELDS = (
    "provider",
    "account_sid",
    "auth_token",
    "signalwire_space",
    "signing_key",
    "messaging_service_sid",
    "brain",
    "is_default",
    "mps",
)
# Changing any of these means proving again that the number is the account's.
CREDENTIAL_FIELDS = ("provider", "account_sid", "auth_token", "signalwire_space")
NOT_AVAILABLE = "This number cannot be added as a line."


class LineExists(AlreadyExists):
    def __init__(self, existing: Line):
        super().__init__("This number is a line of this workspace already.", field="phone_number", existing=existing)


@dataclass(frozen=True)
class Credentials:
    provider: str
    account_sid: str
    auth_token: str
    signalwire_space: str = ""
    signing_key: str = ""


def _check_credentials(credentials: Credentials) -> None:
    errors = {}
    if not credentials.account_sid:
        errors["account_sid"] = ["Required."]
    if not credentials.auth_token:
        errors["auth_token"] = ["Required."]
    if credentials.provider == LineProvider.Provider.SIGNALWIRE and not credentials.signalwire_space:
        errors["signalwire_space"] = ["Required for SignalWire (e.g. example.signalwire.com)."]
    if errors:
        raise ValidationError(errors)


def line_verify(*, credentials: Credentials, phone_number: str) -> str:
    """Prove the number is one of the account's incoming numbers; its sid. Anything else is a
    400 on phone_number saying why (no other workspace is ever named)."""
    _check_credentials(credentials)
    account = twilio.Account(
        provider=credentials.provider,
        account_sid=credentials.account_sid,
        auth_token=credentials.auth_token,
        signalwire_space=credentials.signalwire_space,
        signing_key=credentials.signing_key,
    )
    try:
        sid = twilio.lookup_number(account, phone_number)
    except twilio.ProviderError as exc:
        if exc.status in (401, 403, 404):
            reason = "the provider refused these credentials (check account_sid and auth_token)"
        else:
            reason = "the provider did not answer; try again"
        raise ValidationError({"phone_number": [f"The number could not be verified: {reason}."]}) from None
    if sid is None:
        raise ValidationError(
            {"phone_number": ["The number could not be verified: it is not one of this provider account's numbers."]}
        )
    return sid


def _make_default(workspace: Workspace, provider: LineProvider) -> None:
    LineProvider.objects.filter(workspace=workspace, is_default=True).exclude(pk=provider.pk).update(is_default=False)


def line_connect(
    *,
    workspace: Workspace,
    name: str,
    phone: Phone,
    credentials: Credentials,
    messaging_service_sid: str = "",
    brain: Brain | None = None,
    is_default: bool = False,
    mps: int = 1,
) -> Line:
    """A new line, verified against its provider account before it is stored. The
    workspace's first line is its default; a new default takes over from the previous one."""
    number_sid = line_verify(credentials=credentials, phone_number=phone.e164)
    with transaction.atomic():
        try:
            line = line_create(workspace=workspace, name=name, phone=phone)
        except AlreadyExists as exc:
            if exc.existing is not None:
                raise LineExists(exc.existing) from None
            raise ValidationError({"phone_number": [NOT_AVAILABLE]}) from None
        first = not LineProvider.objects.filter(workspace=workspace).exists()
        provider = LineProvider(
            line=line,
            workspace=workspace,
            provider=credentials.provider,
            account_sid=credentials.account_sid,
            auth_token=credentials.auth_token,
            signalwire_space=credentials.signalwire_space,
            signing_key=credentials.signing_key,
            messaging_service_sid=messaging_service_sid,
            brain=brain,
            is_default=is_default or first,
            mps=mps,
            number_sid=number_sid,
            verified_at=timezone.now(),
        )
        if provider.is_default:
            _make_default(workspace, provider)
        provider.save()
    return line


def line_update(*, line: Line, data: dict[str, Any]) -> Line:
    """PATCH a line: name, routing (brain, default, mps, messaging service) and credentials.
    New credentials (or a line that had none) are verified before they are stored."""
    current = getattr(line, "provider", None)
    values = {key: data[key] for key in PROVIDER_FIELDS if key in data}
    if data.get("is_default") is False and current is not None and current.is_default:
        raise ValidationError({"is_default": ["Make another line the default instead."]})
    reverify = current is None or any(key in values for key in CREDENTIAL_FIELDS)
    credentials = None
    if reverify:
        merged = {
            key: values.get(key, getattr(current, key, "") if current is not None else "")
            for key in ("provider", "account_sid", "auth_token", "signalwire_space", "signing_key")
        }
        merged["provider"] = merged["provider"] or LineProvider.Provider.TWILIO
        credentials = Credentials(**merged)
        number_sid = line_verify(credentials=credentials, phone_number=line.phone_number)
    with transaction.atomic():
        if "name" in data and data["name"] != line.name:
            line.name = data["name"]
            line.save(update_fields=["name"])
        provider = current or LineProvider(line=line, workspace=line.workspace)
        first = current is None and not LineProvider.objects.filter(workspace=line.workspace).exists()
        for key, value in values.items():
            setattr(provider, key, value)
        if credentials is not None:
            provider.provider = credentials.provider
            provider.number_sid = number_sid
            provider.verified_at = timezone.now()
        if first:
            provider.is_default = True
        if provider.is_default:
            _make_default(line.workspace, provider)
        provider.save()
    line.provider = provider
    return line


class LineInUse(Conflict):
    """The line sent campaigns, which keep it (their recipients' history, their callbacks)."""

    def __init__(self, campaign_ids: list):
        super().__init__(
            "This line sent (or is to send) campaigns, which keep it: it cannot be deleted.",
            details={"campaigns": campaign_ids},
        )
        self.campaign_ids = campaign_ids


def line_delete(*, line: Line) -> None:
    """The line and its credentials; its contacts and conversations keep their history. A line
    that campaigns were sent from is kept (LineInUse names them)."""
    try:
        with transaction.atomic():
            line.delete()
    except ProtectedError as exc:
        raise LineInUse(sorted(str(obj.pk) for obj in exc.protected_objects)[:20]) from None
