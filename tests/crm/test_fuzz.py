"""Property tests: whatever JSON a client posts to the contacts API, the answer is a 2xx or a
4xx with the §4 envelope, never a 500."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm.contacts.serializers import ContactCreateSerializer

from .support import contact_make

pytestmark = pytest.mark.django_db

# Any JSON value, with the characters that break databases (NUL, lone surrogates) and the
# numbers that break columns (huge, negative, non-finite) in reach.
_text = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=30) | st.sampled_from(
    ["", " ", "\x00", "\ud800", "a" * 300, "+1 818-740-5020", "(818) 740 5020", "ada@example.com", "new", "won"]
)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | _text
)
json_values = st.recursive(
    _scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(_text, children, max_size=3),
    max_leaves=8,
)

# Every field a client may send, as the create serializer (PATCH's fields and attribution)
# declares them: a new field is fuzzed too.
CONTACT_FIELDS = list(ContactCreateSerializer().fields)
contact_bodies = json_values | st.fixed_dictionaries(
    {}, optional={field: json_values for field in CONTACT_FIELDS} | {"email": st.emails()}
)

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def assert_answer_is_sane(response):
    assert response.status_code < 500, response.content
    if response.status_code >= 400:
        error = response.json()["error"]
        assert set(error) == {"code", "message", "details"}
        assert error["code"].isupper()


def _encode(body) -> str:
    # allow_nan: NaN and Infinity are sent as the (non-JSON) tokens some clients produce.
    return json.dumps(body, allow_nan=True)


@FUZZ
@given(body=contact_bodies)
def test_create_never_answers_500(fast_api_a, body):
    response = fast_api_a.post("/api/v1/contacts", data=_encode(body), content_type="application/json")
    assert_answer_is_sane(response)


@FUZZ
@given(body=contact_bodies)
def test_patch_never_answers_500(fast_api_a, workspace_a, body):
    contact = contact_make(workspace_a, email="fuzz@example.com")
    response = fast_api_a.patch(f"/api/v1/contacts/{contact.id}", data=_encode(body), content_type="application/json")
    assert_answer_is_sane(response)


@FUZZ
@given(body=json_values | st.fixed_dictionaries({}, optional={"body": json_values}))
def test_note_create_never_answers_500(fast_api_a, workspace_a, body):
    contact = contact_make(workspace_a, email="fuzz@example.com")
    response = fast_api_a.post(
        f"/api/v1/contacts/{contact.id}/notes", data=_encode(body), content_type="application/json"
    )
    assert_answer_is_sane(response)
