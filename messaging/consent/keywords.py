"""The consent keywords (SPEC §7): STOP, START and HELP and their synonyms, recognised in a
message alone, and the replies that answer them."""

import re

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


def help_reply(*, business: str, help_text: str) -> str:
    return help_text or (
        f"{business}: reply to this number to talk to us. Reply STOP to unsubscribe, START to resubscribe."
    )
