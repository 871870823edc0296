"""Consent (SPEC §7): the keywords, the contact's `sms_opt_out` and the ledger of its changes."""

from .services import (
    HELP,
    HELP_KEYWORDS,
    OPT_IN,
    OPT_IN_KEYWORDS,
    OPT_OUT,
    OPT_OUT_KEYWORDS,
    OPTED_IN_REPLY,
    OPTED_OUT_REPLY,
    consent_change,
    help_reply,
    keyword_of,
)

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
