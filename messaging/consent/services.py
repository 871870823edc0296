"""The consent ledger: a contact opted out or back in (crm's `sms_opt_out`), each change a
ConsentChange row that also goes on the contact's timeline. An opt-out, whatever its source,
also ends the contact's sequence enrollments."""

from crm.catalog.enrollments import enrollments_stop
from crm.contacts.services import contact_set_consent
from crm.models import Contact

from ..models import ConsentChange, Message


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
