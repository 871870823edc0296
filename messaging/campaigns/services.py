"""Writes for campaigns: create (recipients in bulk, contacts through crm), cancel, and what
the provider's callbacks record (status, key presses, replies) with their event."""

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import Workspace
from crm.contacts.bulk import contacts_for_phones
from crm.models import Contact, Line
from crm.normalize import Phone
from leadhub import bulk
from leadhub.compiled import CompiledQuery
from leadhub.exceptions import Conflict
from webhooks.services import endpoint_create, event_emit

from ..consent import consent_change
from ..models import ConsentChange, Message
from . import quiet, rendering
from .models import Campaign, Recipient

CALLBACK_EVENT = "campaign.callback.received"
BULK_BATCH = 2000


class CampaignStarted(Conflict):
    """The campaign has started (or ended): it can no longer be cancelled."""

    def __init__(self, campaign: Campaign):
        super().__init__(
            f"The campaign is {campaign.status}; only a scheduled campaign can be cancelled.",
            details={"status": [campaign.status]},
        )
        self.campaign = campaign


@dataclass(frozen=True)
class RecipientIn:
    phone: Phone
    context: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NewCampaign:
    campaign: Campaign
    webhook_secret: str | None  # shown once, in the create answer


def campaign_create(
    *,
    workspace: Workspace,
    scenario: str,
    channel: str,
    schedule_at: datetime.datetime,
    message_template: str,
    recipients: list[RecipientIn],
    line: Line,
    public_base_url: str,
    name: str = "",
    webhook_url: str | None = None,
    quiet_start: datetime.time | None = None,
    quiet_end: datetime.time | None = None,
    reply_window: datetime.timedelta | None = None,
    ai_replies: bool = True,
    content_sid: str = "",
    content_variables: dict[str, str] | None = None,
    opt_out_digit: str | None = None,
    no_input_message: str = "",
) -> NewCampaign:
    """A scheduled campaign with one row per recipient, each linked to its contact (found or
    made in bulk through crm). The template must compile (rendering.InvalidTemplate); a
    variable it prints that a recipient's context and contact lack is counted per variable.
    With a webhook_url, the campaign gets its own endpoint for campaign.callback.received,
    filtered to it (django ValidationError on `url` when the URL is refused)."""
    template = rendering.template_compile(message_template)
    variables = rendering.template_variables(template).union(
        *(rendering.template_variables(rendering.template_compile(v)) for v in (content_variables or {}).values())
    )
    with transaction.atomic():
        campaign = Campaign(
            workspace=workspace,
            name=name,
            scenario=scenario,
            channel=channel,
            schedule_at=schedule_at,
            message_template=message_template,
            line=line,
            public_base_url=public_base_url,
            recipient_count=len(recipients),
            no_input_message=no_input_message,
            ai_replies=ai_replies,
            content_sid=content_sid,
            content_variables=content_variables or {},
        )
        if quiet_start is not None:
            campaign.quiet_start = quiet_start
        if quiet_end is not None:
            campaign.quiet_end = quiet_end
        if reply_window is not None:
            campaign.reply_window = reply_window
        if opt_out_digit is not None:
            campaign.opt_out_digit = opt_out_digit
        secret = None
        if webhook_url:
            new = endpoint_create(
                workspace=workspace,
                url=webhook_url,
                event_types=[CALLBACK_EVENT],
                description=f"Campaign {campaign.id}: {name or scenario}"[:500],
                data_filter={"campaign_id": str(campaign.id)},
            )
            campaign.webhook_endpoint, secret = new.endpoint, new.secret
        contacts = contacts_for_phones(workspace=workspace, phones=[r.phone for r in recipients], source="campaign")
        missing: dict[str, int] = {}
        rows = []
        for index, recipient in enumerate(recipients):
            contact = contacts[recipient.phone.e164]
            if variables:
                contact_fields = rendering.contact_values(contact)
                for variable in rendering.missing_variables(
                    variables, context=recipient.context, contact_fields=contact_fields
                ):
                    missing[variable] = missing.get(variable, 0) + 1
            rows.append(
                {
                    "index": index,
                    "phone": recipient.phone.e164,
                    "contact_id": contact.pk,
                    "context": recipient.context,
                    "time_zones": quiet.zones_for(
                        contact_timezone=contact.timezone,
                        e164=recipient.phone.e164,
                        number_zone=recipient.phone.time_zone,
                        fallback=workspace.timezone,
                    ),
                }
            )
        campaign.missing_variables = missing
        campaign.save(force_insert=True)
        constants = {"workspace_id": workspace.pk, "campaign_id": campaign.pk, "due_at": schedule_at}
        if bulk.supported():
            bulk.insert_rows(Recipient, rows, constants={**constants, "updated_at": timezone.now()})
        else:
            Recipient.objects.bulk_create([Recipient(**row, **constants) for row in rows], batch_size=BULK_BATCH)
    return NewCampaign(campaign=campaign, webhook_secret=secret)


def campaign_cancel(*, workspace: Workspace, campaign: Campaign) -> Campaign:
    """Cancel a scheduled campaign: its recipients are skipped (reason `cancelled`). Once it has
    started, CampaignStarted. Cancelling a cancelled campaign changes nothing."""
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk, workspace=workspace)
        if locked.status == Campaign.Status.CANCELLED:
            return locked
        if locked.status != Campaign.Status.SCHEDULED:
            raise CampaignStarted(locked)
        locked.status = Campaign.Status.CANCELLED
        locked.cancelled_at = timezone.now()
        locked.save(update_fields=["status", "cancelled_at"])
        Recipient.objects.filter(campaign=locked, status=Recipient.Status.QUEUED).update(
            status=Recipient.Status.SKIPPED, reason=Recipient.CANCELLED
        )
    return locked


# --- Callbacks ------------------------------------------------------------------------------


def callback_payload(*, recipient: Recipient, kind: str, value: str) -> dict[str, Any]:
    return {
        "campaign_id": str(recipient.campaign_id),
        "recipient": {
            "index": recipient.index,
            "phone": recipient.phone,
            "contact_id": str(recipient.contact_id) if recipient.contact_id else None,
            "context": recipient.context,
        },
        "kind": kind,
        "value": value,
    }


def _emit_callback(*, workspace: Workspace, recipient: Recipient, kind: str, value: str) -> None:
    event_emit(
        workspace=workspace,
        type=CALLBACK_EVENT,
        data=callback_payload(recipient=recipient, kind=kind, value=value),
    )


# Provider statuses (messages and calls) as a recipient's: forward only.
_STATUS_OF = {
    "queued": Recipient.Status.SENT,
    "accepted": Recipient.Status.SENT,
    "sending": Recipient.Status.SENT,
    "sent": Recipient.Status.SENT,
    "initiated": Recipient.Status.SENT,
    "ringing": Recipient.Status.SENT,
    "in-progress": Recipient.Status.SENT,
    "delivered": Recipient.Status.DELIVERED,
    "read": Recipient.Status.DELIVERED,
    "completed": Recipient.Status.DELIVERED,  # a call that was answered
    "undelivered": Recipient.Status.FAILED,
    "failed": Recipient.Status.FAILED,
    "busy": Recipient.Status.FAILED,
    "no-answer": Recipient.Status.FAILED,
    "canceled": Recipient.Status.FAILED,
}
_RANK = {
    Recipient.Status.QUEUED: 0,
    Recipient.Status.SENDING: 1,
    Recipient.Status.SENT: 2,
    Recipient.Status.DELIVERED: 3,
    Recipient.Status.FAILED: 3,
    Recipient.Status.SKIPPED: 3,
}


def clean_status(value) -> str:
    """A provider's status parameter as stored in events: short, lower case, storable."""
    return str(value or "").replace("\x00", "").strip().lower()[:40]


def recipient_status_record(*, recipient: Recipient, provider_status: str, error_code: str = "") -> bool:
    """A provider status callback for a recipient's message or call: the status moves forward
    only (a late `sent` never undoes `delivered`), and each callback emits
    campaign.callback.received with kind `status`. Returns whether the status changed."""
    provider_status = (provider_status or "").strip().lower()
    with transaction.atomic():
        locked = Recipient.objects.select_for_update().select_related("workspace").get(pk=recipient.pk)
        new = _STATUS_OF.get(provider_status)
        changed = False
        if new is not None and _RANK[new] > _RANK[locked.status]:
            locked.status = new
            fields = ["status", "updated_at"]
            if error_code:
                locked.error_code = str(error_code)[:20]
                fields.append("error_code")
            locked.save(update_fields=fields)
            changed = True
        _emit_callback(workspace=locked.workspace, recipient=locked, kind="status", value=provider_status)
    return changed


def recipient_keypress_record(*, recipient: Recipient, digit: str) -> Recipient:
    """A key pressed on a voice campaign's call (the gather action)."""
    with transaction.atomic():
        locked = Recipient.objects.select_for_update().select_related("workspace", "campaign").get(pk=recipient.pk)
        locked.keypress = digit[:1]
        locked.save(update_fields=["keypress", "updated_at"])
        _emit_callback(workspace=locked.workspace, recipient=locked, kind="keypress", value=digit[:1])
    return locked


def recipient_status_for_message(*, message: Message, provider_status: str, error_code: int | None = None) -> bool:
    """A status callback of a campaign's message (found by MessageSid, or by the message its URL
    names): its recipient moves too."""
    if message.source != Message.Source.CAMPAIGN:
        return False
    recipient = Recipient.objects.filter(message=message).first()
    if recipient is None:
        return False
    return recipient_status_record(
        recipient=recipient,
        provider_status=clean_status(provider_status),
        error_code=str(error_code) if error_code is not None else "",
    )


def recipient_keypress_receive(*, recipient: Recipient, digit: str) -> bool:
    """The gather's key press: recorded (and its event); the campaign's opt-out digit opts the
    contact out, which also ends their sequences. True when the contact was opted out."""
    with transaction.atomic():
        locked = recipient_keypress_record(recipient=recipient, digit=digit)
        campaign = locked.campaign
        if not (campaign.opt_out_digit and digit == campaign.opt_out_digit and locked.contact_id):
            return False
        contact = Contact.objects.get(pk=locked.contact_id)
        consent_change(
            contact=contact, opted_out=True, source=ConsentChange.Source.KEYWORD, keyword=f"keypress {digit}"
        )
    return True


def recipient_for_reply(*, workspace: Workspace, contact_id, at: datetime.datetime) -> Recipient | None:
    """The campaign message this inbound message answers: the contact's latest one handed off
    within its campaign's reply window."""
    latest = _LATEST_HANDED_OFF.first(workspace.pk, contact_id, at, Recipient.Status.SENT, Recipient.Status.DELIVERED)
    if latest is None or at - latest.handed_off_at > latest.campaign.reply_window:
        return None
    return latest


def _recipient_field(name: str):
    return Recipient._meta.get_field(name)


# Every inbound message asks it: compiled once (leadhub/compiled.py), as the ORM spent more CPU
# compiling it than running it.
_LATEST_HANDED_OFF = CompiledQuery(
    lambda workspace_id, contact_id, at, sent, delivered: (
        Recipient.objects.select_related("campaign")
        .filter(workspace_id=workspace_id)
        .filter(contact_id=contact_id)
        .filter(handed_off_at__isnull=False)
        .filter(handed_off_at__lte=at)
        .filter(status__in=[sent, delivered])
        .order_by("-handed_off_at")[:1]
    ),
    *map(_recipient_field, ("workspace", "contact", "handed_off_at", "status", "status")),
)


def recipient_reply_record(*, workspace: Workspace, contact_id, text: str, at: datetime.datetime) -> Recipient | None:
    """An inbound message from a contact: if it answers a campaign message within the reply
    window, record it and emit campaign.callback.received (kind `reply`). Answers that
    recipient (its campaign loaded: `ai_replies` says whether the brain answers), else None."""
    recipient = recipient_for_reply(workspace=workspace, contact_id=contact_id, at=at)
    if recipient is None:
        return None
    with transaction.atomic():
        Recipient.objects.filter(pk=recipient.pk, replied_at__isnull=True).update(replied_at=at)
        _emit_callback(workspace=workspace, recipient=recipient, kind="reply", value=text)
    return recipient
