"""The intake's input (SPEC §5.1), derived from the contact's declaration: its text and
attribution fields with the model's max lengths, and the action fields resolved in the
workspace (an id of another workspace is a 400 on that field)."""

import threading
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.fields import empty
from rest_framework.utils import html

from ..catalog import selectors as catalog_selectors
from ..contacts.fields import ATTRIBUTION_FIELDS, TEXT_FIELDS, max_length
from ..contacts.serializers import text
from ..fields import (
    MAX_OTHER_PHONE_NUMBERS,
    LowerEmailField,
    OtherPhonesField,
    PhoneField,
    UsDateField,
    WorkspacePkField,
)
from ..models import DispositionStatus, Line, RingGroup, Sequence, Tag


class _Intake(serializers.Serializer):
    phone_number = PhoneField()
    other_phone_numbers = OtherPhonesField(required=False, max_length=MAX_OTHER_PHONE_NUMBERS)
    email = LowerEmailField(required=False, allow_blank=True, allow_null=True, max_length=max_length("email"))
    date_of_birth = UsDateField(required=False, allow_blank=True)

    user_id = WorkspacePkField(scope=catalog_selectors.workspace_users, queryset=get_user_model().objects.none())
    distribute_to_ring_group = serializers.BooleanField(required=False, default=False)
    ring_group_id = WorkspacePkField(scope=catalog_selectors.ring_groups_list, queryset=RingGroup.objects.none())
    check_available_users = serializers.BooleanField(required=False, default=False)
    add_to_powerdialer = serializers.BooleanField(required=False, default=False)
    powerdialer_position = serializers.ChoiceField(choices=["top", "bottom"], required=False, default="top")
    sequence_id = WorkspacePkField(scope=catalog_selectors.sequences_list, queryset=Sequence.objects.none())
    force_update_sequence = serializers.BooleanField(required=False, default=False)
    force_update = serializers.BooleanField(required=False, default=False)
    line_id = WorkspacePkField(scope=catalog_selectors.lines_list, queryset=Line.objects.none())
    campaign_id = WorkspacePkField(scope=catalog_selectors.lines_list, queryset=Line.objects.none())
    tag_id = WorkspacePkField(scope=catalog_selectors.tags_list, queryset=Tag.objects.none())
    disposition_status_id = WorkspacePkField(
        scope=catalog_selectors.dispositions_list, queryset=DispositionStatus.objects.none()
    )

    @property
    def _writable_fields(self):
        """The fields to run: those the submission carries, and those that act when absent
        (required, with a default, or with a form's empty value). DRF runs every one of the 45
        only to skip the absent ones; the outcome is the same, at a fraction of the cost.
        A form (a QueryDict) may spell a nested field over several keys
        (`other_phone_numbers[0]phone_number`): it runs every field, as DRF does."""
        fields = self.fields
        data = self.initial_data
        if html.is_html_input(data):
            yield from (field for field in fields.values() if not field.read_only)
            return
        acting = self.__dict__.get("_acting")
        if acting is None:
            acting = self.__dict__["_acting"] = [
                field
                for field in fields.values()
                if not field.read_only
                and (field.required or field.default is not empty or field.default_empty_html is not empty)
            ]
        yield from acting
        for name in data.keys() if hasattr(data, "keys") else ():
            field = fields.get(name)
            if field is not None and not field.read_only and field not in acting:
                yield field

    def _read_only_defaults(self):
        """DRF looks through all 45 fields for read-only ones with a default on every call; the
        intake has none (checked once per serializer, which is reused)."""
        if "_any_read_only" not in self.__dict__:
            self.__dict__["_any_read_only"] = any(field.read_only for field in self.fields.values())
        return super()._read_only_defaults() if self.__dict__["_any_read_only"] else {}

    def validate(self, attrs):
        line, campaign = attrs.get("line_id"), attrs.get("campaign_id")
        if line and campaign and line != campaign:
            raise serializers.ValidationError(
                {"campaign_id": ["campaign_id is the older name of line_id: they differ."]}
            )
        if attrs.get("distribute_to_ring_group") and not attrs.get("ring_group_id"):
            raise serializers.ValidationError({"ring_group_id": ["Required with distribute_to_ring_group."]})
        return attrs


IntakeSerializer = type(
    "IntakeSerializer",
    (_Intake,),
    {
        "__doc__": "A form's lead: the contact's fields, attribution and the actions of SPEC §5.1.",
        "__module__": __name__,
        **{name: text(name) for name in (*TEXT_FIELDS, *ATTRIBUTION_FIELDS)},
    },
)

_threads = threading.local()


def _serializer() -> "IntakeSerializer":
    serializer = getattr(_threads, "intake", None)
    if serializer is None:
        serializer = _threads.intake = IntakeSerializer(context={})
        serializer.known = frozenset(serializer.fields)
        serializer.plain, serializer.defaults = _plain_fields(serializer)
    return serializer


# The field types whose value the direct path validates itself: text, the e-mail and the phone.
_PLAIN_TYPES = (serializers.CharField, LowerEmailField, PhoneField)


def _plain_fields(serializer) -> tuple[dict | None, dict | None]:
    """The fields a form's lead usually sends, each validated on its own (field.run_validation,
    as DRF runs it); and the values DRF gives the absent fields that act when absent (their
    constant defaults). (None, None) when the serializer is not as the direct path assumes:
    DRF's to_internal_value would also run a `validate_<field>` method or the serializer's own
    validators, which the direct path does not, so their presence turns it off."""
    if serializer.validators:
        return None, None
    plain, defaults = {}, {}
    for name, field in serializer.fields.items():
        if field.read_only or field.source != name or hasattr(serializer, f"validate_{name}"):
            return None, None
        if type(field) in _PLAIN_TYPES:
            plain[name] = field
        if field.required:
            if name != "phone_number":
                return None, None
        elif field.default is not empty:
            if callable(field.default):
                return None, None
            defaults[name] = field.default
    return plain, defaults


def _direct(serializer, data: dict, workspace) -> tuple[dict[str, Any], list[str]] | None:
    """The validated submission of a JSON form that sends only text, its e-mail and its phone
    (and names the intake does not know), as DRF's validation gives it, or None for anything
    else (an action, another type, an invalid value): DRF then validates it, so every error
    keeps its shape. The fields are the same objects, so each value is validated exactly as
    DRF would; what is skipped is DRF's walk over the serializer's 45 fields."""
    plain, known = serializer.plain, serializer.known
    if plain is None or type(data) is not dict or not isinstance(data.get("phone_number"), str):
        return None
    attrs = dict(serializer.defaults)
    submitted = []
    serializer._context = {"workspace": workspace}
    try:
        for name, value in data.items():
            if name not in known:
                continue
            field = plain.get(name)
            if field is None or (value is not None and type(value) is not str):
                return None
            attrs[name] = field.run_validation(value)
            submitted.append(name)
        return serializer.validate(attrs), submitted
    except (serializers.ValidationError, DjangoValidationError):
        return None
    finally:
        serializer._context = {}


def intake_validate(data: Any, *, workspace) -> tuple[dict[str, Any], list[str]]:
    """The validated submission and the known field names it carried; ValidationError (DRF's,
    so the §5.1 error shape is unchanged) when a field is invalid.

    A JSON form of text, e-mail and phone (most leads) is validated field by field (_direct);
    anything else by the serializer. DRF builds a serializer's 45 fields by deep-copying them
    for every instance, which cost more than the rest of the request: the fields here are built
    once per thread and reused; each call gives the serializer its own data and context and
    clears what the last call left.
    """
    serializer = _serializer()
    direct = _direct(serializer, data, workspace)
    if direct is not None:
        return direct
    return _validated(serializer, data, workspace)


def _validated(serializer, data: Any, workspace) -> tuple[dict[str, Any], list[str]]:
    """intake_validate by the serializer (DRF's validation, whatever the submission)."""
    for attribute in ("_validated_data", "_errors", "_data"):
        serializer.__dict__.pop(attribute, None)
    serializer._context = {"workspace": workspace}
    serializer.initial_data = data
    try:
        serializer.is_valid(raise_exception=True)
        submitted = [key for key in data if key in serializer.known] if hasattr(data, "keys") else []
        return serializer.validated_data, submitted
    finally:
        serializer._context = {}
        del serializer.initial_data
