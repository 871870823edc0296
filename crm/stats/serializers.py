"""The stats query and answer."""

import datetime

from django.utils import timezone
from rest_framework import serializers

DEFAULT_DAYS = 30
MAX_DAYS = 366
EARLIEST = datetime.date(1970, 1, 1)
LATEST = datetime.date(2999, 12, 31)


class StatsQuerySerializer(serializers.Serializer):
    # Named from_ in Python; `from` on the wire.
    to = serializers.DateField(required=False, help_text="Last day included (UTC), YYYY-MM-DD; default today")

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = serializers.DateField(
            required=False,
            help_text=f"First day included (UTC), YYYY-MM-DD; default {DEFAULT_DAYS - 1} days before `to`",
        )
        return fields

    def validate(self, attrs):
        for name in ("to", "from"):
            if attrs.get(name) and not EARLIEST <= attrs[name] <= LATEST:
                raise serializers.ValidationError({name: [f"Must be from {EARLIEST} to {LATEST}."]})
        end = attrs.get("to") or timezone.now().date()
        start = attrs.get("from") or max(EARLIEST, end - datetime.timedelta(days=DEFAULT_DAYS - 1))
        if start > end:
            raise serializers.ValidationError({"from": ["Must be on or before `to`."]})
        if (end - start).days + 1 > MAX_DAYS:
            raise serializers.ValidationError({"to": [f"The range is at most {MAX_DAYS} days."]})
        return {"from": start, "to": end}


class DayCountSerializer(serializers.Serializer):
    date = serializers.DateField()
    count = serializers.IntegerField()


class SourceCountSerializer(serializers.Serializer):
    source = serializers.CharField(help_text='The lead\'s `source`; "" when it had none')
    count = serializers.IntegerField()


class LeadTotalsSerializer(serializers.Serializer):
    total = serializers.IntegerField(help_text="All leads of the workspace")
    in_range = serializers.IntegerField(help_text="Leads created in the range")


class DeliveryCountsSerializer(serializers.Serializer):
    succeeded = serializers.IntegerField()
    failed = serializers.IntegerField()
    pending = serializers.IntegerField()


class StatsSerializer(serializers.Serializer):
    range = serializers.DictField(child=serializers.DateField(), help_text="`from` and `to`, both included")
    leads = LeadTotalsSerializer()
    new_per_day = DayCountSerializer(many=True)
    by_source = SourceCountSerializer(many=True)
    hot = serializers.IntegerField(help_text="Leads of the range with 5 or more messages")
    qualified = serializers.IntegerField(help_text="Leads of the range that have qualified (name and phone or e-mail)")
    booked = serializers.IntegerField(help_text="Leads of the range whose status is booked or won")
    conversion_rate = serializers.FloatField(help_text="booked / leads in range; 0 when there are none")
    conversations = serializers.IntegerField(help_text="Conversations started in the range")
    messages = serializers.IntegerField(help_text="Messages of conversations, written in the range")
    webhook_deliveries = DeliveryCountsSerializer(help_text="Deliveries of events of the range, by status")
