"""The widget's capture: its conversation, transcript and lead, written for a public caller.

Anyone who reads a page's source has its bot_id, and anyone may know a person's phone, e-mail
or a session_id, so nothing a post says is trusted with an existing contact (SPEC §5.2):

- a contact is created, or an existing one gets only its blank name and company filled; its
  phone, e-mail, session_id and counts are never set from a post (crm's `public` upsert);
- what the visitor claimed goes on the conversation (`claims`) and the contact's timeline;
- `message_count` is counted from stored messages, and only ever raised (a post never un-hots);
- the first post of a session answers a random `session_token` (stored as a SHA-256). A post
  that carries it holds the session: it may replace a diverging tail of the transcript, give
  the session's own contact its phone or e-mail, and link the session to the contact its
  phone or e-mail names. A post without it may only append messages and fill blanks;
- a brain starts at most WIDGET_NEW_CONVERSATIONS_PER_HOUR new sessions in any hour (counted
  in the database, so the cap holds with the cache down): past it a new session is refused
  (429) and the sessions already started carry on.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from crm.contacts.services import contact_capture
from crm.models import Contact
from crm.normalize import Phone
from leadhub.exceptions import TooMany

from ..models import Brain, Conversation, Message


@dataclass
class CaptureResult:
    conversation: Conversation
    contact: Contact
    created: bool  # the conversation is new
    messages_added: int
    messages_removed: int
    session_token: str | None  # only on the session's first post


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _holds_session(conversation: Conversation, token: str | None) -> bool:
    if not token or not conversation.session_token_hash:
        return False
    return hmac.compare_digest(_token_hash(token), conversation.session_token_hash)


def _conversation_for_session(*, brain: Brain, session_id: str, page_url: str) -> tuple[Conversation, bool]:
    """The session's conversation, locked for this transaction, or a new one. The unique
    constraint on (workspace, session_id) makes concurrent first posts of a session meet."""
    sessions = Conversation.objects.select_for_update().filter(workspace_id=brain.workspace_id, session_id=session_id)
    conversation = sessions.first()
    if conversation is not None:
        return conversation, False
    _new_conversations_check(brain)
    try:
        with transaction.atomic():
            conversation = Conversation.objects.create(
                workspace_id=brain.workspace_id,
                brain=brain,
                channel=Conversation.Channel.WIDGET,
                session_id=session_id,
                page_url=page_url,
            )
        return conversation, True
    except IntegrityError:
        return sessions.get(), False


def _new_conversations_check(brain: Brain) -> None:
    """TooMany when the brain has started WIDGET_NEW_CONVERSATIONS_PER_HOUR sessions in the last
    hour; Retry-After is when the oldest of them leaves the hour."""
    cap = settings.WIDGET_NEW_CONVERSATIONS_PER_HOUR
    hour = timedelta(hours=1)
    recent = Conversation.objects.filter(
        workspace_id=brain.workspace_id,
        brain=brain,
        channel=Conversation.Channel.WIDGET,
        created_at__gte=timezone.now() - hour,
    )
    if recent[:cap].count() < cap:  # counts at most `cap` rows
        return
    oldest = recent.order_by("created_at").values_list("created_at", flat=True).first()
    wait = (oldest + hour - timezone.now()).total_seconds() if oldest else 60
    raise TooMany(
        f"This widget has started {cap} new conversations in the last hour, its limit; conversations already "
        "started carry on.",
        retry_after=max(1, int(wait) + 1),
    )


def _transcript_sync(
    conversation: Conversation, messages: list[dict[str, str]], *, may_replace: bool
) -> tuple[int, int]:
    """Make the stored transcript the posted one, touching only what differs.

    The widget posts the whole transcript each time. Stored messages that match the posted
    ones position by position stay as they are (same rows, same times); posted messages past
    the stored ones are appended. Where a posted message differs from the stored one at its
    position (the visitor restarted or edited the chat), the stored tail from there on is
    replaced if `may_replace` (the poster holds the session), else the post adds nothing. A
    shorter transcript that matches what is stored (an older post arriving late) removes
    nothing. Returns (added, removed).
    """
    stored = list(Message.objects.filter(conversation=conversation).order_by("position").values_list("role", "content"))
    same = 0
    for (role, content), posted in zip(stored, messages, strict=False):
        if (role, content) != (posted["role"], posted["content"]):
            break
        same += 1
    removed = 0
    if same < min(len(stored), len(messages)):
        if not may_replace:
            return 0, 0
        removed, _ = Message.objects.filter(conversation=conversation, position__gte=same).delete()
        start = same
    else:
        start = len(stored)
    new = messages[start:]
    Message.objects.bulk_create(
        Message(
            workspace_id=conversation.workspace_id,
            conversation=conversation,
            position=position,
            role=message["role"],
            content=message["content"],
        )
        for position, message in enumerate(new, start=start)
    )
    return len(new), removed


def _claims(*, name: str, email: str | None, business: str, phone: Phone | None) -> dict[str, str]:
    claims = {"lead_name": name, "lead_email": email or "", "lead_business": business, "lead_phone": ""}
    if phone is not None:
        claims["lead_phone"] = phone.e164
    return {key: value for key, value in claims.items() if value}


def widget_capture(
    *,
    brain: Brain,
    session_id: str,
    page_url: str = "",
    messages: list[dict[str, str]] | tuple = (),
    name: str = "",
    email: str | None = None,
    business: str = "",
    phone: Phone | None = None,
    session_token: str | None = None,
) -> CaptureResult:
    """Record the widget's conversation (keyed by workspace and session_id) and its lead
    (SPEC §5.2), in one transaction with the lead's events. See the module's docstring for
    what a post may change."""
    workspace = brain.workspace
    messages = list(messages)
    claims = _claims(name=name, email=email, business=business, phone=phone)
    with transaction.atomic():
        conversation, created = _conversation_for_session(brain=brain, session_id=session_id, page_url=page_url)
        token = None
        if created:
            token = secrets.token_urlsafe(32)
            conversation.session_token_hash = _token_hash(token)
        holds = created or _holds_session(conversation, session_token)
        added, removed = _transcript_sync(conversation, messages, may_replace=holds)
        new_claims = {key: value for key, value in claims.items() if conversation.claims.get(key) != value}

        current = conversation.contact
        # Without the session, the identity a post names may not move the conversation: only
        # the contact it already has is looked at (and only its blanks filled).
        names_contact = holds or current is None

        def stored_messages(contact: Contact) -> int:
            # This conversation's (it is linked below) and the contact's other conversations'.
            others = Message.objects.filter(workspace_id=workspace.pk, conversation__contact=contact).exclude(
                conversation=conversation
            )
            return Message.objects.filter(conversation=conversation).count() + others.count()

        result = contact_capture(
            workspace=workspace,
            phone=phone if names_contact else None,
            email=(email or None) if names_contact else None,
            values={"name": name, "company_name": business},
            initial={
                "source": "widget",
                "lead_source": "chat widget",
                "session_id": session_id,
                "message_count": Message.objects.filter(conversation=conversation).count(),
            },
            attribution={"page_url": page_url} if page_url else None,
            source="widget",
            own=current,
            own_identity=holds and current is not None and current.session_id == session_id,
            claimed=new_claims or None,
            message_count=stored_messages,
            bot_id=brain.bot_id,
        )
        contact = result.contact

        changed = []
        if conversation.contact_id != contact.pk:
            conversation.contact = contact
            changed.append("contact")
        if page_url and conversation.page_url != page_url:
            conversation.page_url = page_url
            changed.append("page_url")
        if new_claims:
            conversation.claims = {**conversation.claims, **new_claims}
            changed.append("claims")
        if created:
            changed.append("session_token_hash")
        if changed or added or removed:
            conversation.save(update_fields=[*changed, "updated_at"])
    return CaptureResult(
        conversation=conversation,
        contact=contact,
        created=created,
        messages_added=added,
        messages_removed=removed,
        session_token=token,
    )
