"""What booking's APIs share: their scopes, strict input (unknown fields are a 400 naming them,
SPEC §4) and the fields their serializers are made of."""

import datetime as dt

from rest_framework import serializers

from crm.fields import text_storable

READ = ["bookings:read"]
WRITE = ["bookings:write"]


def strict(serializer: serializers.Serializer, data) -> None:
    """Unknown fields are a 400 naming them (SPEC §4): a typo never silently does nothing."""
    if hasattr(data, "keys"):
        unknown = sorted(set(data.keys()) - set(serializer.fields))
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})


def validated(serializer_class, data, **kwargs) -> dict:
    serializer = serializer_class(data=data, **kwargs)
    strict(serializer, data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class StorableCharField(serializers.CharField):
    """Text every database stores (crm.fields.text_storable: no NUL, no lone surrogates)."""

    def to_internal_value(self, data):
        return text_storable(super().to_internal_value(data))


class UtcDateTimeField(serializers.DateTimeField):
    """An ISO 8601 instant with its offset (`Z` or `+02:00`); a time without one is ambiguous."""

    def to_internal_value(self, value):
        if isinstance(value, str) and value.strip() and not _has_offset(value.strip()):
            raise serializers.ValidationError("Give the time with its offset, e.g. 2026-12-01T15:00:00Z.")
        try:
            parsed = super().to_internal_value(value)
        except OverflowError:
            self.fail("invalid", format="ISO 8601")
        return parsed.astimezone(dt.UTC)


class ChoiceField(serializers.ChoiceField):
    """A choice whose error lists the valid choices (SPEC §4)."""

    def __init__(self, choices, **kwargs):
        super().__init__(choices, **kwargs)
        valid = ", ".join(str(key) for key in self.choices)
        self.error_messages["invalid_choice"] = f'"{{input}}" is not a valid choice: use one of {valid}.'


def _has_offset(text: str) -> bool:
    if text.endswith(("Z", "z")):
        return True
    tail = text[-6:]
    return len(tail) == 6 and tail[0] in "+-" and tail[3] == ":"
