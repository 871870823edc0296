"""Serializer fields shared by the CRM's APIs: phones parsed in the workspace's region,
workspace-scoped ids that cannot overflow a column, JSON and text every database stores."""

import json
import math
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers

from .normalize import InvalidValue, parse_phone, parse_us_date


class PhoneField(serializers.Field):
    """A phone number in any written form, to a normalize.Phone (E.164 and what it tells)."""

    default_error_messages = {"invalid": "Send the phone number as text."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (str, int)):
            self.fail("invalid")
        text = str(data).strip()
        if not text:
            if self.required:
                raise serializers.ValidationError("A phone number is required.")
            return None
        workspace = self.context["workspace"]
        try:
            return parse_phone(text, default_region=workspace.country)
        except InvalidValue as exc:
            raise serializers.ValidationError(str(exc)) from None

    def to_representation(self, value):
        return value.e164 if hasattr(value, "e164") else value


class UsDateField(serializers.CharField):
    """A date of birth as US forms send it: 12/05/1975 or 12-05-1975 (or ISO)."""

    def to_internal_value(self, data):
        text = super().to_internal_value(data)
        if not text:
            return None
        try:
            return parse_us_date(text)
        except InvalidValue as exc:
            raise serializers.ValidationError(str(exc)) from None


class LowerEmailField(serializers.EmailField):
    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        return value.strip().lower() if value else None


# A contact's other numbers, at most (the contacts API and the intake alike).
MAX_OTHER_PHONE_NUMBERS = 20


class OtherPhonesField(serializers.ListField):
    """`[{label, phone_number}]`; each number normalised like the main one."""

    child = serializers.DictField()

    def to_internal_value(self, data):
        # Refuse too many before parsing any: ListField checks max_length only afterwards.
        if self.max_length is not None and isinstance(data, list) and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        items = super().to_internal_value(data)
        phone_field = PhoneField()
        phone_field.bind("phone_number", self)
        out = []
        for index, item in enumerate(items):
            try:
                phone = phone_field.to_internal_value(item.get("phone_number", ""))
            except serializers.ValidationError as exc:
                raise serializers.ValidationError({index: {"phone_number": exc.detail}}) from None
            label = str(item.get("label", ""))[:50]
            # Stored as JSON: PostgreSQL's jsonb refuses NUL and lone surrogates (a 500 otherwise).
            if "\x00" in label or any("\ud800" <= char <= "\udfff" for char in label):
                raise serializers.ValidationError({index: {"label": ["Null or surrogate characters are not allowed."]}})
            if phone is not None:
                out.append({"label": label, "phone_number": phone.e164})
        return out


MAX_DB_INT = 2**63 - 1
MAX_JSON_BYTES = 16_000
MAX_JSON_DEPTH = 6


class WorkspacePkField(serializers.PrimaryKeyRelatedField):
    """An integer id resolved in a workspace-scoped queryset: another workspace's id is "does
    not exist". Values no column can hold are refused before they reach the database (SQLite
    raises OverflowError on them).

    `scope` is a selector called with the serializer's context["workspace"] when a value is
    given (not for every request); `queryset` only names the model for the schema.
    """

    def __init__(self, *, scope, queryset, **kwargs):
        self.scope = scope
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(queryset=queryset, **kwargs)

    def get_queryset(self):
        return self.scope(workspace=self.context["workspace"])

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (int, str)):
            self.fail("incorrect_type", data_type=type(data).__name__)
        try:
            value = int(str(data).strip())
        except ValueError:
            self.fail("incorrect_type", data_type=type(data).__name__)
        if not 1 <= value <= MAX_DB_INT:
            self.fail("does_not_exist", pk_value=value)
        return super().to_internal_value(value)


def text_storable(value: str) -> str:
    """Text every database stores: no NUL (PostgreSQL refuses it) and no lone surrogates
    (not encodable as UTF-8)."""
    if "\x00" in value:
        raise serializers.ValidationError("Null characters are not allowed.")
    if any("\ud800" <= char <= "\udfff" for char in value):
        raise serializers.ValidationError("Surrogate characters are not allowed.")
    return value


def _check_json(value: Any, depth: int = 0) -> None:
    if depth > MAX_JSON_DEPTH:
        raise serializers.ValidationError(f"Nest at most {MAX_JSON_DEPTH} levels.")
    if isinstance(value, str):
        text_storable(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise serializers.ValidationError("Numbers must be finite.")
    elif isinstance(value, dict):
        for key, inner in value.items():
            _check_json(str(key), depth + 1)
            _check_json(inner, depth + 1)
    elif isinstance(value, list):
        for inner in value:
            _check_json(inner, depth + 1)


def json_storable(value: Any) -> Any:
    """A JSON value every database stores: no NUL characters (PostgreSQL's jsonb refuses
    them), no NaN or Infinity (not JSON), bounded depth and size."""
    _check_json(value)
    if len(json.dumps(value, default=str)) > MAX_JSON_BYTES:
        raise serializers.ValidationError(f"At most {MAX_JSON_BYTES} characters of JSON.")
    return value


class JsonObjectField(serializers.DictField):
    def to_internal_value(self, data):
        return json_storable(super().to_internal_value(data))


class PhoneFieldSchema(OpenApiSerializerFieldExtension):
    """OpenAPI: a PhoneField is a string (any written form in, E.164 out)."""

    target_class = "crm.fields.PhoneField"

    def map_serializer_field(self, auto_schema, direction):
        return {"type": "string", "example": "+18187405020"}
