"""Root URLs: the native API under /api/v1/, OAuth under /o/, docs, probes and the admin."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularSwaggerView

from booking.calendly.api import CalendlyWebhookView
from booking.widget.api import BookMeetingView
from messaging.campaigns.callbacks import GatherView
from messaging.inbound.api import InboundView, StatusCallbackView
from messaging.outbound.api import ZapierView
from messaging.widget.api import SaveLeadView

from . import views

oauth_patterns = [
    path("token/", views.RateLimitedTokenView.as_view(), name="token"),
    path("revoke_token/", views.ScopedRevokeTokenView.as_view(), name="revoke-token"),
]

api_v1 = [
    path("", include("accounts.urls")),
    path("", include("webhooks.urls")),
    path("", include("crm.urls")),
    path("", include("messaging.urls")),
    path("", include("booking.urls")),
    path("", include("messaging.campaigns.urls")),
]

urlpatterns = [
    path("livez", views.livez, name="livez"),
    path("healthz", views.healthz, name="healthz"),
    path("o/", include((oauth_patterns, "oauth2_provider"), namespace="oauth2_provider")),
    path("api/v1/", include(api_v1)),
    path("api/zapier-webhook", ZapierView.as_view(), name="zapier-webhook"),
    path("api/save-lead", SaveLeadView.as_view(), name="save-lead"),
    path("api/whatsapp-inbound", InboundView.as_view(), name="whatsapp-inbound"),
    path("api/twilio/status", StatusCallbackView.as_view(), name="twilio-status"),
    path("api/twilio/gather", GatherView.as_view(), name="twilio-gather"),
    path("api/book-meeting", BookMeetingView.as_view(), name="book-meeting"),
    path("api/calendly/webhook", CalendlyWebhookView.as_view(), name="calendly-webhook"),
    path("api/schema/", views.SchemaView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    # The operators' admin where ADMIN_ENABLED: compose serves it from its own service, as the
    # operator role (README "Row-level security"); web, as the app role, would see no row there.
    *([path("admin/", admin.site.urls)] if settings.ADMIN_ENABLED else []),
    path("", include("dashboard.urls", namespace="web")),
]

handler400 = "leadhub.api.errors.bad_request"
handler403 = "leadhub.api.errors.permission_denied"
handler404 = "leadhub.api.errors.page_not_found"
handler500 = "leadhub.api.errors.server_error"
