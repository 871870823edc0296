"""Serializers of the availability rules: in (each day's hours checked: pairs, in order, not
overlapping) and out."""

import datetime as dt
import itertools

from rest_framework import serializers

from ..models import AvailabilityRules
from ..slots import WEEKDAYS, parse_time
from .selectors import RULE_FIELDS

MAX_RANGES_PER_DAY = 12
MAX_OVERRIDES = 366


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
