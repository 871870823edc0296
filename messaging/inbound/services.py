"""An inbound WhatsApp or SMS message, from the verified webhook to the reply (SPEC §7).

`inbound_receive` stores the message once per (line, MessageSid), finds or creates the contact
through crm's `contact_upsert`, applies the consent keywords, and answers with the brain's
reply, all inside one turn of the conversation (see transcript.conversation_turn), so messages
of one conversation are answered one at a time, in order. The turn stores the message in one
short transaction and the reply in another, and waits on the model between them holding no
row lock: a slow model delays its own conversation only. A redelivered MessageSid gets the
stored reply (as TwiML only if it was answered so) and no second model call; one that arrives
while the first delivery waits on the model waits for that turn, then reads its reply. A turn
whose process died between the two left its message unanswered (`answered_at` says which
messages had their answer): a redelivery answers it then, in a turn of its own; without one,
beat answers it later by REST (inbound/sweep.py). A message that answers a campaign message is
recorded as its reply (campaign.callback.received), and any message from the contact ends their
sequence enrollments.

Guardrails before every AI reply: none to a consent keyword (the consent rule answers it),
none to an opted-out contact, none while a person has taken the conversation over, none to a
reply to a campaign created with `ai_replies: false`, and at most AI_MAX_REPLIES_PER_HOUR per
conversation.
"""

import functools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from crm.catalog.enrollments import enrollments_stop
from crm.contacts.services import contact_count_messages, contact_upsert
from crm.models import Line
from crm.normalize import InvalidValue, parse_phone
from webhooks.services import events_emit

from .. import ai, consent, twilio
from ..brains.retrieval import documents_for
from ..brains.selectors import brain_by_slug
from ..campaigns.services import recipient_for_reply, recipient_reply_record
from ..models import Brain, ConsentChange, Conversation, Message
from ..outbound.handoff import message_enqueue
from ..transcript import (
    conversation_hold,
    conversation_lock,
    conversation_open_for,
    conversation_turn,
    conversation_turn_wait,
    message_append,
    message_payload,
)
from ..turns import TurnLost, turn_keep
from . import skills
from .selectors import ai_replies_since, history, stored_id, twiml_answer

logger = logging.getLogger(__name__)

HISTORY_MESSAGES = 20
# A redelivered MessageSid waits at most this long for the turn of the delivery answering it
# (that turn's model call is bounded by AI_TIMEOUT_SECONDS), inside the provider's 15 s limit.
REDELIVERY_WAIT_SECONDS = 12
MAX_INBOUND_BODY = 10_000


class InboundRejected(Exception):
    """The webhook's parameters cannot be used; `field` names the one at fault."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass
class InboundResult:
    message: Message
    reply: str | None  # the text to answer as TwiML; None: answer nothing
    duplicate: bool = False


def _param(params: Mapping, name: str) -> str:
    value = params.get(name)
    return value if isinstance(value, str) else ""


def _brain(line: Line, slug: str | None) -> Brain | None:
    if slug:
        brain = brain_by_slug(workspace=line.workspace, slug=slug)
        if brain is not None:
            return brain
    return line.provider.brain or brain_by_slug(workspace=line.workspace, slug=None)


def _stored_reply(line: Line, sid: str) -> InboundResult | None:
    pk = stored_id(line_id=line.pk, sid=sid)
    if pk is None:
        return None
    existing = Message.objects.select_related("reply").get(pk=pk)
    return InboundResult(message=existing, reply=twiml_answer(existing), duplicate=True)


def _reply_after_the_turn(stored: InboundResult) -> InboundResult:
    """A redelivery of a message stored but not answered yet: its delivery is still in its turn,
    waiting on the model, or died in it. Wait for that turn to end, then read the reply it
    stored. A turn that ended without answering had died (its process, or its answer's
    transaction): the redelivery answers the message itself, now, rather than leave it to
    beat's late answer by REST. None still when the wait ran out behind later turns."""
    ended = conversation_turn_wait(stored.message.conversation_id, seconds=REDELIVERY_WAIT_SECONDS)
    message = Message.objects.select_related("reply").get(pk=stored.message.pk)
    if ended and message.answered_at is None:
        answered = inbound_answer_unanswered(message_id=message.pk, by_rest=False)
        if answered is not None and not answered.duplicate:
            return InboundResult(message=answered.message, reply=answered.reply, duplicate=True)
        message = Message.objects.select_related("reply").get(pk=stored.message.pk)
    return InboundResult(message=message, reply=twiml_answer(message), duplicate=True)


def inbound_receive(*, line: Line, params: Mapping, brain_slug: str | None = None) -> InboundResult:
    """Receive one verified inbound webhook on `line` (its signature already checked)."""
    sid = _param(params, "MessageSid") or _param(params, "SmsMessageSid") or _param(params, "SmsSid")
    if not sid or len(sid) > 64 or "\x00" in sid:
        raise InboundRejected("MessageSid", "MessageSid is required.")
    sender, channel = twilio.strip_address(_param(params, "From"))
    body = _param(params, "Body")[:MAX_INBOUND_BODY].replace("\x00", "")
    workspace = line.workspace
    try:
        phone = parse_phone(sender, default_region=workspace.country or "US")
    except InvalidValue as exc:
        raise InboundRejected("From", str(exc)) from None

    stored = _stored_reply(line, sid)
    if stored is not None:
        if stored.message.answered_at is None:
            stored = _reply_after_the_turn(stored)
        return stored

    brain = _brain(line, brain_slug)
    bot_id = brain.bot_id if brain else None
    upsert = contact_upsert(
        workspace=workspace,
        phone=phone,
        email=None,
        values={},
        source=channel,
        update_existing=False,
        initial={"source": channel, "lead_source": "WhatsApp" if channel == "whatsapp" else "SMS"},
        bot_id=bot_id,
    )
    contact = upsert.contact
    conversation = conversation_open_for(
        workspace=workspace, contact=contact, channel=channel, line=line, brain=brain, new_contact=upsert.created
    )

    with conversation_turn(conversation):
        keyword = consent.keyword_of(body)
        try:
            with transaction.atomic():
                # Read once the turn is ours: an opt-out or a takeover committed before is seen.
                conversation = conversation_lock(conversation, related=True)
                message = message_append(
                    conversation=conversation,
                    role=Message.Role.USER,
                    content=body,
                    direction=Message.Direction.INBOUND,
                    status=Message.Status.RECEIVED,
                    source=Message.Source.INBOUND,
                    provider_sid=sid,
                    # In the message's own statement: message.received, as it is stored.
                    events=lambda stored: [("message.received", message_payload(stored, conversation))],
                    bot_id=bot_id,
                )
                # The contact's message_count follows in the answer's transaction, once per turn
                # for the message and its reply (_reply_store).
                if keyword and keyword[0] in (consent.OPT_OUT, consent.OPT_IN):
                    consent_change_for_keyword(contact=contact, keyword=keyword, message=message)
                # An answer to a campaign message (within its reply window) is its callback; any
                # message from the contact ends their sequences (a STOP has, as an opt-out). A
                # contact this message created has neither (two reads per new lead): whatever a
                # campaign or a sequence does with it since came after the message.
                replied_to = None
                if not upsert.created:
                    replied_to = recipient_reply_record(
                        workspace=workspace, contact_id=contact.pk, text=body, at=message.created_at
                    )
                    enrollments_stop(contact=contact, reason="reply")
        except IntegrityError:
            # The same MessageSid, stored by a delivery that held the turn before us.
            stored = _stored_reply(line, sid)
            if stored is None:
                raise
            return stored
        # A campaign that answers its replies itself (ai_replies off) keeps the brain quiet.
        quiet = replied_to is not None and not replied_to.campaign.ai_replies
        return inbound_answer(conversation=conversation, message=message, brain=brain, keyword=keyword, quiet=quiet)


def inbound_answer_unanswered(*, message_id: int, by_rest: bool) -> InboundResult | None:
    """Answer, in its conversation's turn, an inbound message whose turn died before answering
    it: a redelivery of it (as TwiML) or beat (`by_rest`: the webhook is gone). None when it is
    not an unanswered inbound message; `duplicate` when it was answered meanwhile."""
    message = (
        Message.objects.select_related("conversation", "conversation__workspace", "conversation__contact", "line")
        .filter(pk=message_id, direction=Message.Direction.INBOUND, answered_at__isnull=True)
        .first()
    )
    if message is None:
        return None
    conversation = message.conversation
    with conversation_turn(conversation):
        # Read again in the turn: the turn that died may have been slow rather than dead.
        if not Message.objects.filter(pk=message.pk, answered_at__isnull=True).exists():
            return InboundResult(message=message, reply=None, duplicate=True)
        conversation.refresh_from_db(fields=["taken_over_at", "brain"])
        contact = conversation.contact
        contact.refresh_from_db(fields=["sms_opt_out"])
        brain = conversation.brain
        if brain is None:
            brain = getattr(getattr(message.line, "provider", None), "brain", None)
        if brain is None:
            brain = brain_by_slug(workspace=conversation.workspace, slug=None)
        replied_to = recipient_for_reply(workspace=conversation.workspace, contact_id=contact.pk, at=message.created_at)
        return inbound_answer(
            conversation=conversation,
            message=message,
            brain=brain,
            keyword=consent.keyword_of(message.content),
            quiet=replied_to is not None and not replied_to.campaign.ai_replies,
            by_rest=by_rest,
        )


class _AlreadyAnswered(Exception):
    """The message was answered meanwhile (beat's late answer and a turn never both answer)."""


def _answer_record(message: Message, *, reply: Message | None, intent: str, at) -> bool:
    """The inbound message's reply, intent and answer time (a redelivery answers the same), by
    a statement written once; False when it had been answered already."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(Message._meta.db_table)} SET {quote('reply_id')} = %s, {quote('intent')} = %s, "  # noqa: S608
            f"{quote('answered_at')} = %s WHERE {quote('id')} = %s AND {quote('answered_at')} IS NULL",
            [
                reply.pk if reply is not None else None,
                intent,
                Message._meta.get_field("answered_at").get_db_prep_value(at, connection),
                message.pk,
            ],
        )
        return cursor.rowcount == 1


def consent_change_for_keyword(*, contact, keyword: tuple[str, str], message: Message) -> None:
    consent.consent_change(
        contact=contact,
        opted_out=keyword[0] == consent.OPT_OUT,
        source=ConsentChange.Source.KEYWORD,
        keyword=keyword[1],
        message=message,
    )


# A conversation's first message (position 0; positions follow the order of arrival) has
# nothing before it: no history and no reply of the brain to read (a lead's first message is
# every new lead's, and these reads were two of its round trips).


def _ai_replies_last_hour(conversation: Conversation, message: Message) -> int:
    if message.position == 0:
        return 0
    return ai_replies_since(conversation_id=conversation.pk, since=timezone.now() - timedelta(hours=1))


def _history(conversation: Conversation, before: Message) -> list[ai.Turn]:
    if before.position == 0:
        return []
    rows = history(conversation_id=conversation.pk, before_position=before.position, limit=HISTORY_MESSAGES)
    return [ai.Turn(role, content) for role, content in rows]


def _brain_reply(turn: skills.Turn) -> tuple[str, str, float]:
    """The brain's reply (the model's, or the offline responder's) with the intent detected in
    the same call, followed by the skills (book_meeting: the offer of free slots)."""
    brain, message = turn.brain, turn.message
    documents = documents_for(brain=brain, text=message.content) if brain else []
    try:
        result = ai.reply(
            message=message.content,
            history=_history(turn.conversation, message),
            documents=[ai.Document(d.title, d.content) for d in documents],
            system_prompt=brain.system_prompt if brain else "",
            model=brain.model if brain else "",
            business=turn.workspace.name,
            booking_url=brain.booking_url if brain else "",
        )
    except Exception:  # never lose the inbound message over a reply
        logger.exception("The reply to message %s failed", message.pk)
        result = ai.Reply(text=ai.HOLDING_REPLY, source="holding", error="unexpected")
    if result.intent == "opt_out":
        return result.text, result.intent, result.confidence
    return skills.skills_follow(turn, result), result.intent, result.confidence


def inbound_answer(
    *,
    conversation: Conversation,
    message: Message,
    brain: Brain | None,
    keyword: tuple[str, str] | None,
    quiet: bool = False,
    by_rest: bool = False,
) -> InboundResult:
    """Decide and store the answer to `message` (in its turn). `by_rest`: the webhook that
    brought it is gone (beat answering late), so the reply is queued for the provider's REST
    API rather than returned as TwiML. Answers `reply` None when the message had been answered
    meanwhile."""
    contact = conversation.contact
    workspace = conversation.workspace
    text: str | None = None
    source = Message.Source.AI
    intent, confidence = "", 0.0
    if keyword:
        kind = keyword[0]
        source = Message.Source.CONSENT
        if kind == consent.OPT_OUT:
            text, intent, confidence = consent.OPTED_OUT_REPLY, "opt_out", 1.0
        elif kind == consent.OPT_IN:
            text = consent.OPTED_IN_REPLY
        else:
            text = consent.help_reply(business=workspace.name, help_text=brain.help_text if brain else "")
    elif (
        quiet
        or contact.sms_opt_out
        or conversation.taken_over_at is not None
        or (_ai_replies_last_hour(conversation, message) >= settings.AI_MAX_REPLIES_PER_HOUR)
    ):
        # Silent, but the intent is still detected (offline: no model call for a message
        # that gets no reply).
        intent, confidence = ai.classify_intent(message.content)
    else:
        turn = skills.Turn(
            workspace=workspace, conversation=conversation, contact=contact, message=message, brain=brain
        )
        # A skill may answer the message itself (the lead picking an offered slot): no model call.
        own = skills.skills_answer(turn)
        if own is not None:
            text, intent, confidence = own.text, own.intent, own.confidence
        else:
            text, intent, confidence = _brain_reply(turn)
            if intent == "opt_out":
                # The lead asked to stop in their own words: opted out, and told so.
                text, source = consent.OPTED_OUT_REPLY, Message.Source.CONSENT
    try:
        with transaction.atomic():
            if intent == "opt_out" and not keyword:
                consent.consent_change(
                    contact=contact,
                    opted_out=True,
                    source=ConsentChange.Source.INTENT,
                    keyword="opt_out",
                    message=message,
                )
            reply = _reply_store(
                conversation=conversation,
                message=message,
                text=text,
                source=source,
                intent=intent,
                by_rest=by_rest,
                events=functools.partial(
                    _answer_events, conversation=conversation, message=message, intent=intent, confidence=confidence
                ),
                bot_id=brain.bot_id if brain else None,
            )
    except (_AlreadyAnswered, TurnLost):  # TurnLost: left unanswered, for beat's sweep (inbound/sweep.py)
        return InboundResult(message=message, reply=None, duplicate=True)
    return InboundResult(message=message, reply=reply.content if reply is not None else None)


def _reply_store(
    *,
    conversation: Conversation,
    message: Message,
    text: str | None,
    source: str,
    intent: str,
    by_rest: bool,
    events: Callable[[Message | None], list[tuple[str, dict]]],
    bot_id: str | None,
) -> Message | None:
    """In the answer's transaction, the turn still ours (turn_keep, else TurnLost): the reply with the answer's events
    (none if a person took the conversation over meanwhile and the brain would speak), message_count moved once
    for the message and its reply, the message marked answered; _AlreadyAnswered (rolled back) if it had been."""
    reply = None
    turn_keep(conversation.pk)
    # Locked for the reply's position, and read afresh: the model was called with no lock
    # held, and a person who took the conversation over meanwhile silences the brain.
    if text and conversation_hold(conversation) and source == Message.Source.AI:
        text = None
    now = timezone.now()
    if text:
        reply = message_append(
            conversation=conversation,
            role=Message.Role.ASSISTANT,
            content=text,
            direction=Message.Direction.OUTBOUND,
            # TwiML: the provider sends it from our answer; REST: the hand-off task does.
            status=Message.Status.QUEUED if by_rest else Message.Status.SENT,
            source=source,
            sent_at=None if by_rest else now,
            events=events,
            bot_id=bot_id,
        )
        if by_rest:
            transaction.on_commit(lambda: message_enqueue(message_id=reply.pk))
    else:
        emitted = events(None)
        if emitted:
            events_emit(workspace=conversation.workspace, events=emitted, bot_id=bot_id)
    # The inbound message (stored by the turn's first transaction) and its reply, counted here
    # once: a turn that died before answering is counted by whoever answers it.
    contact_count_messages(contact=conversation.contact, count=2 if reply is not None else 1)
    if not _answer_record(message, reply=reply, intent=intent, at=now):
        raise _AlreadyAnswered()
    message.reply, message.intent, message.answered_at = reply, intent, now
    return reply


def _answer_events(
    reply: Message | None, *, conversation: Conversation, message: Message, intent: str, confidence: float
) -> list[tuple[str, dict]]:
    """The answer's events: message.sent for a reply answered as TwiML, intent.detected."""
    events = []
    if reply is not None and reply.status == Message.Status.SENT:
        # Answered as TwiML: the provider takes the reply with the webhook's answer, so it is
        # sent now (a reply queued for the REST API emits message.sent at hand-off instead).
        events.append(("message.sent", message_payload(reply, conversation)))
    if intent:
        detected = {
            "intent": intent,
            "confidence": round(float(confidence), 3),
            "message_id": str(message.uid),
            "conversation_id": str(conversation.id),
            "contact_id": str(conversation.contact_id),
        }
        events.append(("intent.detected", detected))
    return events
