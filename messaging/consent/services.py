"""Consent (SPEC §7): the STOP/START/HELP keywords, the contact's `sms_opt_out`, and the ledger
of every change (ConsentChange), which also goes on the contact's timeline. An opt-out, whatever
its source, also ends the contact's sequence enrollments."""

import re

from crm.catalog.enrollments import enrollments_stop
from crm.contacts.services import contact_set_consent
from crm.models import Contact

from ..models import ConsentChange, Message

OPT_OUT_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
OPT_IN_KEYWORDS = frozenset({"START", "UNSTOP", "YES"})
HELP_KEYWORDS = frozenset({"HELP"})

OPT_OUT = "opt_out"
OPT_IN = "opt_in"
HELP = "help"

OPTED_OUT_REPLY = "You have been unsubscribed and will receive no more messages from us. Reply START to resubscribe."
OPTED_IN_REPLY = "You have been resubscribed and will receive messages from us again. Reply STOP to unsubscribe."

_EDGES = re.compile(r"^[\s\W_]+|[\s\W_]+$")


def keyword_of(text: str) -> tuple[str, str] | None:
    """(kind, KEYWORD) when the message is a consent keyword alone (any case, surrounding
    spaces and punctuation ignored), else None."""
    word = _EDGES.sub("", text or "").upper()
    if word in OPT_OUT_KEYWORDS:
        return OPT_OUT, word
    if word in OPT_IN_KEYWORDS:
        return OPT_IN, word
    if word in HELP_KEYWORDS:
        return HELP, word
    return None


def consent_change(
    *, contact: Contact, opted_out: bool, source: str, keyword: str = "", message: Message | None = None
) -> bool:
    """Opt the contact out (or back in); a ledger row and a timeline entry when it changes, and
    an opt-out stops the contact's sequences. Call inside the transaction of what caused it."""
    if not contact_set_consent(contact=contact, opted_out=opted_out, source=f"consent:{source}"):
        return False
    if opted_out:
        enrollments_stop(contact=contact, reason="opt_out")
    ConsentChange.objects.create(
        workspace_id=contact.workspace_id,
        contact=contact,
        opted_out=opted_out,
        source=source,
        keyword=keyword[:40],
        message=message,
    )
    return True


def help_reply(*, business: str, help_text: str) -> str:
    return help_text or (
        f"{business}: reply to this number to talk to us. Reply STOP to unsubscribe, START to resubscribe."
    )
