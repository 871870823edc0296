"""Property tests: whatever anyone posts to messaging's endpoints, the answer is a 2xx or a 4xx
with the §4 envelope, never a 500: the widget's /api/save-lead, the provider webhooks (signed
correctly, with any extra or odd parameters), and the JSON endpoints (brains, knowledge, lines,
conversations, send-whatsapp)."""

import json
from urllib.parse import urlencode

import pytest
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from messaging.brains.services import brain_create, knowledge_create
from messaging.models import Conversation
from tests.crm.test_fuzz import FUZZ, assert_answer_is_sane, json_values

from .conftest import ACCOUNT_SID, AUTH_TOKEN, LEAD_NUMBER, LINE_NUMBER, TESTSERVER
from .doubles import twilio_signature

pytestmark = pytest.mark.django_db

FIELDS = [
    "page_url",
    "session_token",
    "messages",
    "lead_name",
    "lead_email",
    "lead_business",
    "lead_phone",
    "message_count",
]
_messages = st.lists(
    st.fixed_dictionaries(
        {}, optional={"role": st.sampled_from(["user", "assistant", "x"]) | json_values, "content": json_values}
    ),
    max_size=4,
)


@pytest.fixture
def bot(workspace_a, client, settings):
    settings.PUBLIC_RATE_PER_MINUTE = 1_000_000
    client.raise_request_exception = False
    return brain_create(workspace=workspace_a, name="Fuzz").bot_id


@FUZZ
@given(
    body=json_values
    | st.fixed_dictionaries(
        {"session_id": st.text(max_size=10) | json_values},
        optional={field: json_values for field in FIELDS} | {"messages": _messages},
    ),
    with_bot=st.booleans(),
)
def test_save_lead_never_answers_500(client, bot, body, with_bot):
    if with_bot and isinstance(body, dict):
        body = {"bot_id": bot, **body}
    response = client.post("/api/save-lead", data=json.dumps(body, allow_nan=True), content_type="application/json")
    assert_answer_is_sane(response)


# --- The provider webhooks: signed as the provider signs, with any extra or odd parameters ---

_form_text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=40) | st.sampled_from(
    ["", " ", "\x00", "STOP", "help", "2", "whatsapp:", "whatsapp:+18187405020", "+18187405020", "a" * 2000]
)
_form_keys = st.text(alphabet=st.characters(exclude_categories=("Cs",)), min_size=1, max_size=12)
INBOUND_FIELDS = ["Body", "MessageSid", "SmsSid", "NumMedia", "ProfileName", "WaId", "MediaUrl0"]
LINE_ADDRESSES = (f"whatsapp:{LINE_NUMBER}", LINE_NUMBER)


@pytest.fixture
def fuzz_line(line_a, settings):
    settings.ANTHROPIC_API_KEY = ""  # the offline responder: no model to wait for
    return line_a


@FUZZ
@given(
    fields=st.fixed_dictionaries(
        {
            "From": st.sampled_from([f"whatsapp:{LEAD_NUMBER}", LEAD_NUMBER]) | _form_text,
            "To": st.sampled_from(LINE_ADDRESSES) | _form_text,
        },
        optional={field: _form_text for field in INBOUND_FIELDS},
    ),
    extra=st.dictionaries(_form_keys, _form_text, max_size=4),
    brain=st.none() | _form_text,
)
def test_a_signed_inbound_with_any_parameters_never_answers_500(fuzz_line, fields, extra, brain):
    params = {**extra, **fields}
    path = "/api/whatsapp-inbound" + ("" if brain is None else "?" + urlencode({"brain": brain}))
    signature = twilio_signature(TESTSERVER + path, params, AUTH_TOKEN)
    client = Client(raise_request_exception=False)
    response = client.post(
        path, urlencode(params), content_type="application/x-www-form-urlencoded", HTTP_X_TWILIO_SIGNATURE=signature
    )
    assert_answer_is_sane(response)
    if params["To"] in LINE_ADDRESSES:
        assert response.status_code != 403, "a correctly signed request was refused"


@FUZZ
@given(
    params=st.dictionaries(
        st.sampled_from(["MessageSid", "MessageStatus", "ErrorCode", "SmsSid"]) | _form_keys, _form_text, max_size=5
    ),
    signed=st.booleans(),
)
def test_a_status_callback_with_any_parameters_never_answers_500(fuzz_line, params, signed):
    headers = {"HTTP_X_TWILIO_SIGNATURE": twilio_signature(TESTSERVER + "/api/twilio/status", params, AUTH_TOKEN)}
    client = Client(raise_request_exception=False)
    response = client.post(
        "/api/twilio/status",
        urlencode(params),
        content_type="application/x-www-form-urlencoded",
        **(headers if signed else {}),
    )
    assert_answer_is_sane(response)


# --- The JSON endpoints of messaging -----------------------------------------------------------

_values = json_values | st.sampled_from(
    ["real-estate", "front-desk", "https://a.example", LEAD_NUMBER, LINE_NUMBER, ACCOUNT_SID, "twilio", "signalwire"]
)


def _body(fields):
    return json_values | st.fixed_dictionaries({}, optional={field: _values for field in fields})


def _post(api, method, path, body):
    return getattr(api, method)(path, data=json.dumps(body, allow_nan=True), content_type="application/json")


BRAIN_FIELDS = ["slug", "name", "system_prompt", "model", "allowed_origins", "booking_url", "help_text", "is_default"]
LINE_FIELDS = [
    "name",
    "phone_number",
    "provider",
    "account_sid",
    "auth_token",
    "signalwire_space",
    "signing_key",
    "messaging_service_sid",
    "brain",
    "is_default",
    "mps",
]


@pytest.fixture
def fuzz_api(fast_api_a, fuzz_line, brain_a):
    return fast_api_a


@FUZZ
@given(body=_body(BRAIN_FIELDS), patch=st.booleans())
def test_brains_never_answer_500(fuzz_api, brain_a, body, patch):
    path = f"/api/v1/brains/{brain_a.pk}" if patch else "/api/v1/brains"
    assert_answer_is_sane(_post(fuzz_api, "patch" if patch else "post", path, body))


@FUZZ
@given(body=_body(["brain", "title", "content"]), patch=st.booleans())
def test_knowledge_never_answers_500(fuzz_api, workspace_a, brain_a, body, patch):
    if patch:
        document = knowledge_create(workspace=workspace_a, brain=brain_a, title="T", content="C")
        response = _post(fuzz_api, "patch", f"/api/v1/knowledge/{document.pk}", body)
    else:
        response = _post(fuzz_api, "post", "/api/v1/knowledge", body)
    assert_answer_is_sane(response)


@FUZZ
@given(body=_body(LINE_FIELDS), patch=st.booleans())
def test_lines_never_answer_500(fuzz_api, fuzz_line, body, patch):
    path = f"/api/v1/lines/{fuzz_line.pk}" if patch else "/api/v1/lines"
    assert_answer_is_sane(_post(fuzz_api, "patch" if patch else "post", path, body))


@FUZZ
@given(
    body=_body(["content"]),
    query=st.dictionaries(
        st.sampled_from(["contact", "channel", "status", "cursor", "limit", "x"]), _form_text, max_size=3
    ),
)
def test_conversations_never_answer_500(fuzz_api, send_inbound, body, query):
    send_inbound("Hi")
    conversation = Conversation.objects.first()
    for response in (
        fuzz_api.get("/api/v1/conversations", query),
        _post(fuzz_api, "post", f"/api/v1/conversations/{conversation.id}/messages", body),
        _post(fuzz_api, "post", f"/api/v1/conversations/{conversation.id}/handback", body),
    ):
        assert_answer_is_sane(response)


@FUZZ
@given(
    body=_body(["to", "message", "from_number", "channel", "content_sid", "content_variables", "action"]),
    query=st.dictionaries(st.sampled_from(["brain", "slug", "cursor", "limit", "x"]), _form_text, max_size=2),
)
def test_send_whatsapp_and_lists_never_answer_500(fuzz_api, body, query):
    assert_answer_is_sane(_post(fuzz_api, "post", "/api/zapier-webhook?action=send-whatsapp", body))
    for path in ("/api/v1/brains", "/api/v1/knowledge", "/api/v1/lines"):
        assert_answer_is_sane(fuzz_api.get(path, query))
