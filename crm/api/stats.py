"""GET /api/v1/stats: a workspace's lead, conversation and webhook figures over a date range."""

import datetime

from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from leadhub.api.views import ApiView

from .. import selectors

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


_EXAMPLE = {
    "range": {"from": "2026-11-01", "to": "2026-11-03"},
    "leads": {"total": 1250, "in_range": 9},
    "new_per_day": [
        {"date": "2026-11-01", "count": 4},
        {"date": "2026-11-02", "count": 0},
        {"date": "2026-11-03", "count": 5},
    ],
    "by_source": [{"source": "widget", "count": 6}, {"source": "intake", "count": 3}],
    "hot": 2,
    "qualified": 7,
    "booked": 3,
    "conversion_rate": 0.3333,
    "conversations": 6,
    "messages": 48,
    "webhook_deliveries": {"succeeded": 40, "failed": 1, "pending": 2},
}


class StatsView(ApiView):
    required_scopes = {"GET": ["stats:read"]}

    @extend_schema(
        operation_id="stats_retrieve",
        summary="Workspace statistics",
        description=(
            "Scope `stats:read`. Figures over the days `from`…`to` (UTC, both included; at most "
            f"{MAX_DAYS} days; default the last {DEFAULT_DAYS} days). `leads.total` counts every lead; the rest "
            "count what was created in the range. `conversations` and `messages` count the widget conversations "
            "and their messages recorded by LeadHub (WhatsApp and SMS are counted once messaging records them). "
            "`conversion_rate` is booked / leads in range. A bad date answers 400 VALIDATION_ERROR naming "
            "`from` or `to`."
        ),
        parameters=[
            OpenApiParameter("from", str, description="First day, YYYY-MM-DD (UTC)", required=False),
            OpenApiParameter("to", str, description="Last day, YYYY-MM-DD (UTC)", required=False),
        ],
        responses={200: StatsSerializer},
        examples=[OpenApiExample("Three days", value=_EXAMPLE, response_only=True)],
        tags=["stats"],
    )
    def get(self, request):
        query = StatsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        first, last = query.validated_data["from"], query.validated_data["to"]
        start = datetime.datetime.combine(first, datetime.time(), tzinfo=datetime.UTC)
        end = datetime.datetime.combine(last + datetime.timedelta(days=1), datetime.time(), tzinfo=datetime.UTC)
        stats = selectors.workspace_stats(workspace=request.workspace, start=start, end=end)
        stats.pop("from")
        stats.pop("to")
        return Response({"range": {"from": first, "to": last}, **stats})
