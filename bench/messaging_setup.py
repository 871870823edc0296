"""What bench/messaging.py and bench/profile_request.py share for WhatsApp and SMS: the Bench
workspace's line (verified against the Twilio double) and knowledge, the leads, and inbound
webhooks signed as Twilio signs them. `seed()` needs Django set up; the rest does not."""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

from tests.messaging.doubles import twilio_signature

PUBLIC_BASE_URL = "https://leadhub.bench.example"
INBOUND = "/api/whatsapp-inbound"
ACCOUNT_SID = "AC" + "b" * 32
AUTH_TOKEN = "bench-token-" + "c" * 20
LINE_NUMBER = "+18185550100"
LEADS = 2000
QUESTIONS = [
    "What are your opening hours on Saturday?",
    "How much does teeth whitening cost?",
    "Do you take walk-ins?",
    "Where do I park?",
    "Is a cleaning covered by insurance?",
    "Can children come for a check-up?",
    "Hi! What do you do exactly?",
    "How long does an implant take?",
]
DOCUMENTS = {
    "Opening hours": "We are open Monday to Friday from 9am to 6pm. On Saturdays we open from 10am to 2pm.",
    "Prices": "Teeth whitening costs $299 per session. A cleaning costs $89. An implant starts at $1,900.",
    "Walk-ins": "Walk-ins are welcome in the mornings; for the afternoon please book ahead.",
    "Parking": "Free parking is behind the building; the entrance is on Elm Street.",
    "Insurance": "We accept most dental insurance plans; a cleaning is usually covered twice a year.",
    "Children": "Children are welcome from age 3; a first check-up for children is free.",
    "About us": "Bench Dental is a family dental practice: check-ups, cleaning, whitening and implants.",
    "Implants": "An implant takes two visits over about three months: placement, then the crown.",
}


def lead(n: int, area: str = "818") -> str:
    """The n-th of LEADS distinct lead numbers of an area code."""
    return f"+1{area}740{2000 + n % LEADS:04d}"


def signed_form(n: int, *, sender: str, body: str) -> tuple[str, str]:
    """An inbound WhatsApp webhook as Twilio posts it, with a MessageSid of its own: (the
    urlencoded form, its X-Twilio-Signature over PUBLIC_BASE_URL + INBOUND)."""
    sid = "SM" + uuid.uuid4().hex
    params = {
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ProfileName": f"Lead {n}",
        "SmsSid": sid,
        "WaId": sender[1:],
        "SmsStatus": "received",
        "Body": body,
        "To": f"whatsapp:{LINE_NUMBER}",
        "NumSegments": "1",
        "ReferralNumMedia": "0",
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": f"whatsapp:{sender}",
        "ApiVersion": "2010-04-01",
    }
    return urlencode(params), twilio_signature(PUBLIC_BASE_URL + INBOUND, params, AUTH_TOKEN)


def seed(*, workspace_id: str) -> None:
    """The default brain's prompt and 24 documents (each topic three times over: more documents
    than match, as a real brain has) and the line, verified against TWILIO_API_BASE_URL."""
    from accounts.models import Workspace
    from crm.normalize import parse_phone
    from messaging.brains.services import knowledge_create
    from messaging.lines.services import Credentials, line_connect
    from messaging.models import Brain

    workspace = Workspace.objects.get(pk=workspace_id)
    brain = Brain.objects.get(workspace=workspace, is_default=True)
    brain.system_prompt = "You are the assistant of Bench Dental. Be brief."
    brain.save(update_fields=["system_prompt"])
    for n in range(3):
        for title, content in DOCUMENTS.items():
            knowledge_create(workspace=workspace, brain=brain, title=f"{title} {n}" if n else title, content=content)
    line_connect(
        workspace=workspace,
        name="Bench",
        phone=parse_phone(LINE_NUMBER, default_region="US"),
        credentials=Credentials(provider="twilio", account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN),
    )
