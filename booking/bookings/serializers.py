"""Serializers of booking's APIs: the rules, bookings in and out, the widget's booking."""

import datetime as dt
import itertools

from rest_framework import serializers

from crm.fields import LowerEmailField, PhoneField

from ..availability.selectors import RULE_FIELDS
from ..models import AvailabilityRules, Booking
from ..slots import WEEKDAYS, parse_time

MAX_RANGES_PER_DAY = 12
MAX_OVERRIDES = 366


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
    """Text every database stores: no NUL (PostgreSQL refuses it), no lone surrogates."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if "\x00" in value or any("\ud800" <= char <= "\udfff" for char in value):
            raise serializers.ValidationError("Null and surrogate characters are not allowed.")
        return value


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


def _ranges(value, *, where: str) -> list[list[str]]:
    if not isinstance(value, list) or len(value) > MAX_RANGES_PER_DAY:
        raise serializers.ValidationError(
            f'{where}: a list of at most {MAX_RANGES_PER_DAY} [start, end] pairs like ["09:00", "17:00"].'
        )
    spans = []
    for item in value:
        if not (isinstance(item, list) and len(item) == 2 and all(isinstance(text, str) for text in item)):
            raise serializers.ValidationError(f'{where}: each range is a pair ["HH:MM", "HH:MM"].')
        try:
            start, end = parse_time(item[0]), parse_time(item[1])
        except ValueError as exc:
            raise serializers.ValidationError(f"{where}: {exc}") from None
        if start >= end:
            raise serializers.ValidationError(f"{where}: {item[0]} is not before {item[1]}.")
        spans.append((start, end, item))
    spans.sort(key=lambda span: span[0])
    for before, after in itertools.pairwise(spans):
        if after[0] < before[1]:
            raise serializers.ValidationError(f"{where}: the ranges {before[2]} and {after[2]} overlap.")
    return [list(span[2]) for span in spans]


class RulesSerializer(serializers.ModelSerializer):
    timezone = serializers.CharField(
        max_length=64, required=False, help_text="IANA zone of the hours, e.g. America/New_York"
    )
    slot_minutes = serializers.IntegerField(min_value=5, max_value=480, required=False, default=30)
    buffer_minutes = serializers.IntegerField(min_value=0, max_value=240, required=False, default=0)
    min_notice_minutes = serializers.IntegerField(min_value=0, max_value=60 * 24 * 60, required=False, default=60)
    horizon_days = serializers.IntegerField(min_value=1, max_value=90, required=False, default=7)
    weekly = serializers.JSONField(
        required=False, help_text='{"mon": [["09:00", "17:00"]], ...}: wall-clock ranges per weekday'
    )
    overrides = serializers.JSONField(
        required=False, help_text='[{"date": "2026-12-24", "hours": []}]: a date\'s own ranges'
    )

    class Meta:
        model = AvailabilityRules
        fields = list(RULE_FIELDS)

    def validate_timezone(self, value: str) -> str:
        AvailabilityRules._meta.get_field("timezone").run_validators(value)
        return value

    def validate_weekly(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError(f"An object with keys among {', '.join(WEEKDAYS)}.")
        unknown = sorted(set(value) - set(WEEKDAYS))
        if unknown:
            raise serializers.ValidationError(f"Unknown day {', '.join(unknown)}: use {', '.join(WEEKDAYS)}.")
        return {day: _ranges(value[day], where=day) for day in WEEKDAYS if day in value}

    def validate_overrides(self, value):
        if not isinstance(value, list) or len(value) > MAX_OVERRIDES:
            raise serializers.ValidationError(f"A list of at most {MAX_OVERRIDES} {{date, hours}} objects.")
        out, seen = [], set()
        for item in value:
            if not isinstance(item, dict) or set(item) != {"date", "hours"}:
                raise serializers.ValidationError('Each override is {"date": "YYYY-MM-DD", "hours": [...]}.')
            try:
                day = dt.date.fromisoformat(item["date"]) if isinstance(item["date"], str) else None
            except ValueError:
                day = None
            if day is None or len(item["date"]) != 10:
                raise serializers.ValidationError(f"{item['date']!r} is not a date as YYYY-MM-DD.")
            if day in seen:
                raise serializers.ValidationError(f"{day} is given twice.")
            seen.add(day)
            out.append({"date": day.isoformat(), "hours": _ranges(item["hours"], where=day.isoformat())})
        return sorted(out, key=lambda item: item["date"])


class RulesOutSerializer(RulesSerializer):
    configured = serializers.SerializerMethodField(help_text="false: defaults shown, nothing offered yet")

    class Meta(RulesSerializer.Meta):
        fields = [*RULE_FIELDS, "configured", "updated_at"]

    def get_configured(self, rules) -> bool:
        return rules.pk is not None


class BookingSerializer(serializers.ModelSerializer):
    contact_id = serializers.UUIDField(read_only=True)

    class Meta:
        model = Booking
        fields = [
            "id",
            "status",
            "source",
            "start",
            "end",
            "contact_id",
            "name",
            "email",
            "phone",
            "message",
            "preferred_time",
            "brain_slug",
            "scheduling_url",
            "cancel_reason",
            "cancelled_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


def _max(name: str) -> int:
    return Booking._meta.get_field(name).max_length


class BookingCreateSerializer(serializers.Serializer):
    name = StorableCharField(max_length=_max("name"))
    email = LowerEmailField(max_length=_max("email"))
    phone = PhoneField(required=False, allow_null=True, help_text="Any written form, in the workspace's country")
    start = UtcDateTimeField(required=False, allow_null=True, help_text="A free slot's start; leave out to request")
    end = UtcDateTimeField(required=False, allow_null=True, help_text="Defaults to start + the slot length")
    message = StorableCharField(max_length=_max("message"), required=False, allow_blank=True, default="")
    preferred_time = StorableCharField(max_length=_max("preferred_time"), required=False, allow_blank=True, default="")

    def validate(self, attrs):
        if attrs.get("end") and not attrs.get("start"):
            raise serializers.ValidationError({"end": ["Give start with end."]})
        return attrs


class BookingListQuery(serializers.Serializer):
    cursor = serializers.CharField(required=False)
    limit = serializers.CharField(required=False)
    status = ChoiceField(choices=Booking.Status.choices, required=False)
    contact = serializers.UUIDField(required=False, help_text="A contact's id")
    to = UtcDateTimeField(required=False, help_text="Bookings starting before this")

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = UtcDateTimeField(required=False, help_text="Bookings starting at or after this")
        return fields


class CancelSerializer(serializers.Serializer):
    reason = StorableCharField(max_length=_max("cancel_reason"), required=False, allow_blank=True, default="")


class BookMeetingSerializer(BookingCreateSerializer):
    """The widget's booking (SPEC §8): the API's fields without `end`, plus the bot and brain."""

    bot_id = serializers.CharField(max_length=40, help_text="The brain's public bot id")
    brain_slug = StorableCharField(max_length=_max("brain_slug"), required=False, allow_blank=True, default="")
    end = None


class AvailabilityQuery(serializers.Serializer):
    action = ChoiceField(choices=["availability"])
    bot_id = serializers.CharField(max_length=40)
