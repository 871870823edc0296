"""Consent (SPEC §7): the STOP/START/HELP keywords (keywords.py), the contact's `sms_opt_out`,
and the ledger of every change (services.py), which also goes on the contact's timeline. An
opt-out, whatever its source, also ends the contact's sequence enrollments."""

from .keywords import (
    HELP,
    HELP_KEYWORDS,
    OPT_IN,
    OPT_IN_KEYWORDS,
    OPT_OUT,
    OPT_OUT_KEYWORDS,
    OPTED_IN_REPLY,
    OPTED_OUT_REPLY,
    help_reply,
    keyword_of,
)
from .services import consent_change

__all__ = [
    "HELP",
    "HELP_KEYWORDS",
    "OPTED_IN_REPLY",
    "OPTED_OUT_REPLY",
    "OPT_IN",
    "OPT_IN_KEYWORDS",
    "OPT_OUT",
    "OPT_OUT_KEYWORDS",
    "consent_change",
    "help_reply",
    "keyword_of",
]
