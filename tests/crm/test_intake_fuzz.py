"""Whatever a client posts to the intake, the answer is a documented 2xx or 4xx, never a 500."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.services import api_key_create, workspace_create
from crm.intake.serializers import IntakeSerializer

URL = "/api/v1/webhook/forms"
# Every field the intake takes, as its serializer declares them (a new field is fuzzed too).
FIELDS = list(IntakeSerializer().fields)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=60),
    st.sampled_from(["8187405020", "+1 818 740 5020", "12/05/1975", "top", "bottom", "a@b.co", "true"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)
bodies = st.dictionaries(st.sampled_from(FIELDS), values, max_size=8)


@pytest.fixture
def intake_key(django_db_blocker):
    with django_db_blocker.unblock():
        workspace = workspace_create(name="Fuzz")
        return api_key_create(workspace=workspace, name="fuzz", scopes=["intake"]).secret


@pytest.mark.django_db
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies)
def test_json_bodies_never_cause_a_server_error(client, intake_key, body):
    response = client.post(URL, json.dumps({"api_token": intake_key, **body}), content_type="application/json")
    assert response.status_code in {200, 201, 202, 400}, (body, response.content)
    payload = response.json()
    assert "message" in payload
    if response.status_code == 400:
        assert all(isinstance(messages, list) for messages in payload["errors"].values())


@pytest.mark.django_db
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_arbitrary_bytes_never_cause_a_server_error(client, intake_key, raw):
    for content_type in ("application/json", "application/x-www-form-urlencoded"):
        response = client.post(f"{URL}?api_token={intake_key}", raw, content_type=content_type)
        assert 200 <= response.status_code < 500, (raw, content_type, response.content)
