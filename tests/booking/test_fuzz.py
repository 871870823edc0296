"""Property tests: whatever anyone sends to /api/book-meeting or the bookings API, the answer is
a 2xx, a 409 or a 4xx in its endpoint's shape, never a 500."""

import datetime as dt
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from booking.availability.services import rules_set
from messaging.brains.services import brain_create
from tests.crm.test_fuzz import FUZZ, assert_answer_is_sane, json_values

from .conftest import ALL_DAY

pytestmark = pytest.mark.django_db

FIELDS = ["name", "email", "start", "message", "preferred_time", "phone", "brain_slug"]
_times = st.datetimes(
    min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30), timezones=st.just(dt.UTC) | st.none()
).map(lambda value: value.isoformat())
_values = json_values | _times | st.sampled_from(["ada@example.com", "(818) 740 5020", "2026-12-01T15:00:00Z"])


@pytest.fixture
def bot(workspace_a, client, settings):
    settings.PUBLIC_RATE_PER_MINUTE = 1_000_000
    client.raise_request_exception = False
    rules_set(workspace=workspace_a, values={"weekly": ALL_DAY, "min_notice_minutes": 0})
    return brain_create(workspace=workspace_a, name="Fuzz").bot_id


def assert_public_answer_is_sane(response):
    assert response.status_code < 500, response.content
    body = response.json()
    assert isinstance(body["ok"], bool)
    if response.status_code >= 400:
        assert body["ok"] is False
        assert ("errors" in body) != ("error" in body)


@FUZZ
@given(
    body=json_values | st.fixed_dictionaries({}, optional={field: _values for field in FIELDS}),
    with_bot=st.booleans(),
)
def test_book_meeting_never_answers_500(client, bot, body, with_bot):
    if with_bot and isinstance(body, dict):
        body = {"bot_id": bot, **body}
    response = client.post("/api/book-meeting", data=json.dumps(body, allow_nan=True), content_type="application/json")
    assert_public_answer_is_sane(response)


@FUZZ
@given(params=st.dictionaries(st.sampled_from(["action", "bot_id", "x"]), st.text(max_size=50), max_size=3))
def test_availability_never_answers_500(client, bot, params):
    response = client.get("/api/book-meeting", params)
    assert_public_answer_is_sane(response)


@FUZZ
@given(body=json_values | st.fixed_dictionaries({}, optional={field: _values for field in [*FIELDS[:-1], "end"]}))
def test_bookings_create_never_answers_500(api_a, bot, body):
    response = api_a.post("/api/v1/bookings", data=json.dumps(body, allow_nan=True), content_type="application/json")
    assert_answer_is_sane(response)


@FUZZ
@given(
    body=json_values
    | st.fixed_dictionaries(
        {},
        optional={
            "timezone": st.text(max_size=40) | json_values,
            "slot_minutes": json_values,
            "weekly": json_values | st.dictionaries(st.sampled_from(["mon", "sun", "x"]), json_values, max_size=2),
            "overrides": json_values,
        },
    )
)
def test_rules_put_never_answers_500(api_a, bot, body):
    response = api_a.put("/api/v1/availability", data=json.dumps(body, allow_nan=True), content_type="application/json")
    assert_answer_is_sane(response)


@FUZZ
@given(
    params=st.dictionaries(
        st.sampled_from(["from", "to", "status", "contact", "limit", "cursor"]), st.text(max_size=30), max_size=4
    )
)
def test_bookings_list_never_answers_500(api_a, bot, params):
    response = api_a.get("/api/v1/bookings", params)
    assert_answer_is_sane(response)
