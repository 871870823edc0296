"""Property test: whatever JSON the widget (or anyone) posts to /api/save-lead, the answer is a
2xx or a 4xx with the §4 envelope, never a 500."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from messaging.services import brain_create
from tests.crm.test_fuzz import FUZZ, assert_answer_is_sane, json_values

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
