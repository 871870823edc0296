"""How a campaign's message reaches the provider: an SMS or WhatsApp message, or a call whose
TwiML says the message inside a one-key gather. Built once per campaign in the driver's
thread (account, numbers, callback URLs); the hand-off functions it returns run in the pool's
threads and touch no database."""

from urllib.parse import urlencode
from xml.etree import ElementTree

from messaging import twilio

from .engine import HandOff, Item, Outcome
from .models import Campaign

GATHER_PATH = "/api/twilio/gather"
VOICE_STATUS_PATH = "/api/twilio/voice-status"
MESSAGE_STATUS_PATH = "/api/twilio/campaign-status"
GATHER_TIMEOUT_SECONDS = 6
DEFAULT_NO_INPUT = "We did not receive a response. Goodbye."


def callback_query(campaign: Campaign, recipient_index_or_id) -> str:
    return urlencode({"campaign": str(campaign.pk), "recipient": str(recipient_index_or_id)})


def twiml_for_call(*, message: str, gather_url: str, no_input_message: str) -> str:
    """`<Response><Gather numDigits="1" action=… method="POST"><Say>message</Say></Gather>
    <Say>no input</Say></Response>`: the provider posts the key pressed to the gather URL; when
    none is pressed the call goes on to the fallback."""
    response = ElementTree.Element("Response")
    gather = ElementTree.SubElement(
        response,
        "Gather",
        {"numDigits": "1", "action": gather_url, "method": "POST", "timeout": str(GATHER_TIMEOUT_SECONDS)},
    )
    ElementTree.SubElement(gather, "Say").text = message
    ElementTree.SubElement(response, "Say").text = no_input_message or DEFAULT_NO_INPUT
    return '<?xml version="1.0" encoding="UTF-8"?>' + ElementTree.tostring(response, encoding="unicode")


def twiml_say(text: str) -> str:
    response = ElementTree.Element("Response")
    ElementTree.SubElement(response, "Say").text = text
    return '<?xml version="1.0" encoding="UTF-8"?>' + ElementTree.tostring(response, encoding="unicode")


def sender_for(campaign: Campaign) -> HandOff:
    account = twilio_account(campaign.line)
    base = campaign.public_base_url
    from_number = campaign.line.phone_number
    if campaign.channel == Campaign.Channel.VOICE:

        def call(item: Item) -> Outcome:
            query = callback_query(campaign, item.recipient_id)
            twiml = twiml_for_call(
                message=item.body,
                gather_url=twilio.callback_url(f"{GATHER_PATH}?{query}", stored=base),
                no_input_message=campaign.no_input_message,
            )
            return _outcome(
                lambda: twilio.place_call(
                    account,
                    to=item.phone,
                    from_=from_number,
                    twiml=twiml,
                    status_callback=twilio.callback_url(f"{VOICE_STATUS_PATH}?{query}", stored=base) or None,
                )
            )

        return call

    channel = campaign.channel

    def message(item: Item) -> Outcome:
        query = callback_query(campaign, item.recipient_id)
        return _outcome(
            lambda: twilio.send_message(
                account,
                to=twilio.address(item.phone, channel),
                from_=twilio.address(from_number, channel),
                body=item.body,
                status_callback=twilio.callback_url(f"{MESSAGE_STATUS_PATH}?{query}", stored=base) or None,
            )
        )

    return message


def _outcome(send) -> Outcome:
    try:
        sent = send()
    except twilio.ProviderError as exc:
        return Outcome(
            error_code=str(exc.code or exc.status or ""),
            error=exc.message,
            opted_out=exc.code == twilio.ERROR_UNSUBSCRIBED,
        )
    return Outcome(sid=sent.sid)


def twilio_account(line) -> "twilio.Account":
    raise NotImplementedError  # wired to the lines' credentials when they land
