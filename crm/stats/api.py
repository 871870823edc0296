"""GET /api/v1/stats: a workspace's lead, conversation and webhook figures over a date range."""

import datetime

from rest_framework.response import Response

from leadhub.api.views import ApiView

from . import schema, selectors
from .serializers import StatsQuerySerializer


class StatsView(ApiView):
    required_scopes = {"GET": ["stats:read"]}

    @schema.stats
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
