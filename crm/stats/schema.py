"""OpenAPI for GET /api/v1/stats, kept out of the view."""

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema

from .serializers import DEFAULT_DAYS, MAX_DAYS, StatsSerializer

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


stats = extend_schema(
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
