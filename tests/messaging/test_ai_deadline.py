"""AI_TIMEOUT_SECONDS bounds the whole model call, not each read (SPEC §7: a time limit inside
the provider's 15 s webhook limit; past it a polite holding reply). The Anthropic double sends
its headers at once and then trickles the body, each piece well inside the per-read timeout."""

import xml.etree.ElementTree as ET

import pytest

from messaging import ai
from messaging.models import Message
from tests.polling import until


def test_a_model_that_trickles_its_answer_past_the_limit_gives_a_holding_reply(model_api, settings):
    settings.AI_TIMEOUT_SECONDS = 1
    model_api.reply, model_api.intent, model_api.trickle_seconds = "We open at 9am.", "pricing", 4
    result = ai.reply(message="How much is a cleaning?", history=[], documents=[])
    assert (result.source, result.text, result.error) == ("holding", ai.HOLDING_REPLY, "TimeoutError")
    assert result.intent == "pricing"  # the offline classifier's, no second call
    assert len(model_api.calls) == 1
    # The call given up on stopped reading and closed its connection before the answer's end.
    assert until(lambda: model_api.hung_up == 1)


def test_a_model_that_trickles_its_answer_inside_the_limit_is_answered(model_api, settings):
    settings.AI_TIMEOUT_SECONDS = 5
    model_api.reply, model_api.trickle_seconds = "We open at 9am.", 0.5
    result = ai.reply(message="When do you open?", history=[], documents=[])
    assert (result.source, result.text) == ("model", "We open at 9am.")
    assert result.usage == {"input_tokens": 100, "output_tokens": 20}
    assert model_api.hung_up == 0


@pytest.mark.django_db
def test_an_inbound_message_whose_model_trickles_past_the_limit_gets_the_holding_reply(
    line_a, model_api, send_inbound, settings
):
    settings.AI_TIMEOUT_SECONDS = 1
    model_api.reply, model_api.trickle_seconds = "We open at 9am.", 4
    response = send_inbound("When do you open?")
    assert response.status_code == 200
    assert [m.text for m in ET.fromstring(response.content).findall("Message")] == [ai.HOLDING_REPLY]
    inbound = Message.objects.get(direction="inbound")
    assert inbound.content == "When do you open?" and inbound.reply.content == ai.HOLDING_REPLY
    assert not Message.objects.filter(content="We open at 9am.").exists()
