"""The campaign engine and the sequences bound to messaging's provider boundary.

- SMS and WhatsApp campaigns: each chunk's messages are stored in their contacts' conversations
  (`sending`, messaging/outbound/bulk.py) before the provider is called, so a status callback
  (`POST /api/twilio/status?message=<id>`, found by MessageSid or, before that is stored, by the
  message its URL names) moves both the message and its recipient forward; the provider's answers
  are recorded after (`message.sent`, 21610 opts out), keeping what callbacks wrote (heard.py).
- WhatsApp campaigns: free text to a contact who wrote in the last 24 hours, the campaign's
  approved template (`content_sid`, its variables rendered per recipient) to the others; with
  no template those fail with reason `whatsapp_window` (SPEC §7).
- Voice campaigns: a call whose TwiML says the rendered message inside a one-key `<Gather>`
  posting to `/api/twilio/gather?recipient=<id>`, with a fallback said when no key is pressed;
  call status callbacks come to `/api/twilio/status?recipient=<id>` too (by CallSid, or before
  that is stored by the recipient the URL names).
- Sequence steps: one SMS at a time through the outbound path (`message_send`, then
  `message_handoff` at once, with its retries on provider 5xx).

Nothing here calls the brain or takes a conversation over (see outbound/bulk.py).
"""

from datetime import datetime, timedelta

from django.db import transaction

from crm.models import Contact, Enrollment, Line

from .. import twilio
from ..consent import consent_change
from ..lines.selectors import account_of
from ..models import ConsentChange, Conversation, LineProvider, Message
from ..outbound.bulk import Outgoing, Result, messages_record_many, messages_store_many
from ..outbound.services import (
    SendRefused,
    message_enqueue,
    message_handoff,
    message_send,
    retry_countdown,
    whatsapp_windows_open,
)
from . import rendering
from .models import Campaign, Recipient
from .sender import Found, Item, Lookup, Outcome

GATHER_PATH = "/api/twilio/gather"
NO_INPUT_DEFAULT = "We did not hear a key. Goodbye."
# The provider's clock against ours, when a listed message is compared with a hand-off's start.
CLOCK_SKEW = timedelta(minutes=1)
NOT_VERIFIED = "The campaign's line has no verified provider account: nothing can be sent from it."
WHATSAPP_WINDOW_CLOSED = (
    "WhatsApp free text can only go to a contact who wrote in the last 24 hours, and the campaign has no "
    "approved template (content_sid) for the others."
)


def _verified_provider(line: Line) -> LineProvider | None:
    return LineProvider.objects.filter(line=line, verified_at__isnull=False).select_related("brain").first()


class CampaignSender:
    """The engine's Sender for one campaign (see sender.Sender)."""

    def __init__(self, campaign: Campaign):
        self.campaign = campaign
        self.provider = _verified_provider(campaign.line)
        self.account = account_of(self.provider) if self.provider else None
        self.voice = campaign.channel == Campaign.Channel.VOICE
        self.from_ = twilio.address(campaign.line.phone_number, campaign.channel)
        self.status_callback = twilio.callback_url(twilio.STATUS_CALLBACK_PATH, stored=campaign.public_base_url) or None
        # Recipient id -> its message's StatusCallback (naming the message, see
        # twilio.status_callback_url). Written by store() in the driver's thread, read by the hand-offs.
        self.message_callbacks: dict[int, str | None] = {}
        self.fallback = campaign.no_input_message or NO_INPUT_DEFAULT
        self.whatsapp = campaign.channel == Campaign.Channel.WHATSAPP
        self.content_variables = {
            key: rendering.template_compile(value) for key, value in (campaign.content_variables or {}).items()
        }
        # Recipient id -> its template's rendered variables: those outside the 24-hour window.
        # Written in the driver's thread before the chunk's hand-offs, read by them.
        self.templated: dict[int, dict[str, str]] = {}

    # --- In the driver's thread --------------------------------------------------------------

    def prepare(self, rows: list[Recipient]) -> dict[int, Outcome]:
        """WhatsApp (SPEC §7): free text only to a contact who wrote in the last 24 hours; the
        others get the campaign's approved template, or nothing when it has none."""
        self.templated = {}
        if not self.whatsapp:
            return {}
        open_ = whatsapp_windows_open(
            workspace=self.campaign.workspace, contact_ids=[row.contact_id for row in rows if row.contact_id]
        )
        refused = {}
        for row in rows:
            if row.contact_id in open_:
                continue
            if not self.campaign.content_sid:
                refused[row.pk] = Outcome(error_code="whatsapp_window", error=WHATSAPP_WINDOW_CLOSED)
                continue
            fields = rendering.contact_values(row.contact)
            self.templated[row.pk] = {
                key: rendering.render(template, context=row.context or {}, contact_fields=fields)
                for key, template in self.content_variables.items()
            }
        return refused

    def store(self, rows: list[Recipient]) -> None:
        if self.voice or self.provider is None:
            return
        # A recipient tried before (a provider 5xx) keeps the message stored for it then.
        new = [row for row in rows if row.contact_id and row.message_id is None]
        messages = messages_store_many(
            workspace=self.campaign.workspace,
            line=self.campaign.line,
            channel=self.campaign.channel,
            outgoing=[
                Outgoing(
                    contact_id=row.contact_id,
                    body=row.body,
                    content_sid=self.campaign.content_sid if row.pk in self.templated else "",
                    content_variables=self.templated.get(row.pk),
                )
                for row in new
            ],
            source=Message.Source.CAMPAIGN,
            brain_id=self.provider.brain_id,
            callback_base=self.campaign.public_base_url,
        )
        for row, message in zip(new, messages, strict=True):
            row.message = message
        self._name_messages([row for row in rows if row.message_id is not None])

    def _name_messages(self, rows: list[Recipient]) -> None:
        """Each row's StatusCallback, naming its message; the messages stored by an earlier try
        are read in one query."""
        uids = {row.message_id: row.message.uid for row in rows if Recipient.message.is_cached(row)}
        earlier = [row.message_id for row in rows if row.message_id not in uids]
        if earlier:
            uids |= dict(Message.objects.filter(pk__in=earlier).values_list("pk", "uid"))
        for row in rows:
            uid = uids.get(row.message_id)
            if uid is not None:
                self.message_callbacks[row.pk] = twilio.status_callback_url(
                    stored=self.campaign.public_base_url, message_uid=uid
                )

    def record(self, handed: list[tuple[Recipient, Outcome]]) -> None:
        results = []
        for row, outcome in handed:
            if row.message_id is not None:
                code = outcome.error_code
                results.append(
                    Result(
                        message=row.message,
                        contact_id=row.contact_id,
                        sid=outcome.sid,
                        error_code=int(code) if code.isascii() and code.isdigit() and len(code) < 9 else None,
                        error=outcome.error,
                    )
                )
            elif outcome.opted_out and row.contact is not None:
                consent_change(
                    contact=row.contact,
                    opted_out=True,
                    source=ConsentChange.Source.PROVIDER,
                    keyword=outcome.error_code,
                )
        brain = self.provider.brain if self.provider else None
        messages_record_many(workspace=self.campaign.workspace, results=results, bot_id=brain.bot_id if brain else None)

    # --- In the pool's threads: no database ------------------------------------------------

    def hand_off(self, item: Item) -> Outcome:
        if self.account is None:
            return Outcome(error_code="no_line", error=NOT_VERIFIED)
        try:
            if self.voice:
                sent = twilio.place_call(
                    self.account,
                    to=item.phone,
                    from_=self.from_,
                    twiml=self.twiml(item),
                    # Naming the recipient, as the gather does: a call that fails at once is
                    # called back before the chunk has stored its CallSid.
                    status_callback=twilio.callback_url(
                        f"{twilio.STATUS_CALLBACK_PATH}?recipient={item.recipient_id}",
                        stored=self.campaign.public_base_url,
                    )
                    or None,
                )
            else:
                variables = self.templated.get(item.recipient_id)
                sent = twilio.send_message(
                    self.account,
                    to=twilio.address(item.phone, self.campaign.channel),
                    from_=self.from_,
                    body=item.body,
                    content_sid=self.campaign.content_sid if variables is not None else None,
                    content_variables=variables,
                    messaging_service_sid=self.provider.messaging_service_sid or None,
                    status_callback=self.message_callbacks.get(item.recipient_id, self.status_callback),
                )
        except twilio.ProviderError as exc:
            return Outcome(
                error_code=str(exc.code or exc.status or ""),
                error=exc.message,
                opted_out=exc.code == twilio.ERROR_UNSUBSCRIBED,
                retryable=exc.retryable,
            )
        return Outcome(sid=sent.sid)

    def look_up(self, lookup: Lookup) -> Found:
        """Did the provider accept this recipient's message (or call) at or after its hand-off
        began? Its list by To and From on that day, our message's text when we know it."""
        if self.account is None:
            return Found(error=NOT_VERIFIED)
        to = twilio.address(lookup.phone, self.campaign.channel)
        try:
            if self.voice:
                listed = twilio.calls_since(self.account, to=to, from_=self.from_, since=lookup.since)
            else:
                # Through a Messaging Service the provider picks the number: any From.
                from_ = None if self.provider.messaging_service_sid else self.from_
                listed = twilio.messages_since(self.account, to=to, from_=from_, since=lookup.since)
        except twilio.ProviderError as exc:
            return Found(error=exc.message)
        earliest = lookup.since - CLOCK_SKEW
        for record in listed:
            if record.created_at is not None and record.created_at < earliest:
                continue  # an earlier message to the same person
            if lookup.body and record.body != lookup.body:
                continue  # another message of that moment (a reply, another campaign)
            return Found(sid=record.sid)
        return Found()

    def twiml(self, item: Item) -> str:
        action = twilio.callback_url(
            f"{GATHER_PATH}?recipient={item.recipient_id}", stored=self.campaign.public_base_url
        )
        return twilio.twiml_gather(say=item.body, action=action, fallback=self.fallback)


def sender_for(campaign: Campaign) -> CampaignSender:
    return CampaignSender(campaign)


# --- Sequences ---------------------------------------------------------------------------------


def sequence_step_send(contact: Contact, line: Line, body: str) -> Outcome:
    """Send one step as an SMS through the outbound path, now. A provider 5xx or timeout
    leaves the message queued for the hand-off task's retries (`pending`)."""
    try:
        with transaction.atomic():
            message = message_send(
                workspace=contact.workspace,
                contact=contact,
                channel=Conversation.Channel.SMS,
                body=body,
                line=line,
                source=Message.Source.SEQUENCE,
                enqueue=False,
            )
    except SendRefused as exc:
        return Outcome(error_code=exc.reason, error=" ".join(exc.messages), opted_out=exc.reason == "opted_out")
    handed = message_handoff(message_id=message.pk)
    message.refresh_from_db(fields=["provider_sid", "attempts", "error_code", "error_message"])
    if handed == "sent":
        return Outcome(sid=message.provider_sid or "")
    if handed == "retry":
        message_enqueue(message_id=message.pk, countdown=retry_countdown(message.attempts))
        return Outcome(pending=True, error=message.error_message)
    return Outcome(error_code=str(message.error_code or handed), error=message.error_message or handed)


def replied_since(enrollment: Enrollment, since: datetime) -> bool:
    """Did the contact write (on any line) after `since`?"""
    return Message.objects.filter(
        conversation__contact_id=enrollment.contact_id,
        direction=Message.Direction.INBOUND,
        created_at__gt=since,
    ).exists()
