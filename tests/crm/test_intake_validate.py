"""The intake's direct validation of a plain JSON form (crm.intake.serializers._direct) gives
what DRF's serializer gives for the same submission, and hands everything else to DRF."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.exceptions import ValidationError

from crm.contacts.fields import ATTRIBUTION_FIELDS, TEXT_FIELDS
from crm.intake.serializers import IntakeSerializer, _direct, _plain_fields, _serializer, _validated

PLAIN = ["phone_number", "email", *TEXT_FIELDS, *ATTRIBUTION_FIELDS]


def drf(data, workspace):
    try:
        validated, submitted = _validated(_serializer(), data, workspace)
    except ValidationError:
        return None
    return dict(validated), submitted


def direct(data, workspace):
    answer = _direct(_serializer(), data, workspace)
    return None if answer is None else (dict(answer[0]), answer[1])


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data",
    [
        {"phone_number": "+1 818 740 5020", "name": "Bench Lead", "email": "Lead@Example.COM", "lead_source": "x"},
        {"phone_number": "8187405020", "name": "  padded  ", "email": "", "company_name": "   ", "utm_source": "wrk"},
        {"phone_number": "(818) 740 5020", "email": None, "first_name": "Ada", "unknown": [1, 2], "api_token": "k"},
        {"phone_number": "8187405020", "email": "  a@b.co  ", "referrer": "https://example.com/?q=1"},
    ],
)
def test_direct_is_drf(workspace_a, data):
    assert direct(data, workspace_a) == drf(data, workspace_a) is not None


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data",
    [
        {"name": "no phone"},
        {"phone_number": "123"},
        {"phone_number": 8187405020},
        {"phone_number": "8187405020", "name": 5},
        {"phone_number": "8187405020", "name": None},
        {"phone_number": "8187405020", "name": "x" * 1000},
        {"phone_number": "8187405020", "name": "nul\x00"},
        {"phone_number": "8187405020", "email": "not an e-mail"},
        {"phone_number": "8187405020", "force_update": True},
        {"phone_number": "8187405020", "tag_id": 1},
        {"phone_number": "8187405020", "date_of_birth": "12/05/1975"},
    ],
)
def test_anything_else_goes_to_drf(workspace_a, data):
    assert direct(data, workspace_a) is None


texts = st.one_of(st.none(), st.text(max_size=30), st.sampled_from(["", "  ", "a@b.co", " A@B.CO ", "8187405020"]))


@pytest.mark.django_db
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fields=st.dictionaries(st.sampled_from(PLAIN), texts, max_size=6), phone=texts)
def test_direct_agrees_with_drf(workspace_a, fields, phone):
    data = {**fields, "phone_number": phone}
    answer = direct(data, workspace_a)
    if answer is not None:
        assert answer == drf(data, workspace_a)


def test_a_field_method_or_validator_of_the_serializer_turns_the_direct_path_off():
    # DRF runs validate_<field> and the serializer's validators in to_internal_value; the
    # direct path does not, so it must not run where they exist.
    assert _plain_fields(IntakeSerializer(context={})) != (None, None)

    class WithFieldMethod(IntakeSerializer):
        def validate_name(self, value):
            return value.upper()

    assert _plain_fields(WithFieldMethod(context={})) == (None, None)

    class WithValidator(IntakeSerializer):
        def get_validators(self):
            return [lambda attrs: None]

    assert _plain_fields(WithValidator(context={})) == (None, None)
