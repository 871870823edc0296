"""Native API routes of webhooks: /webhooks, /deliveries, /events and Zapier's /hooks."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from .api import DeliveryViewSet, EventViewSet, RestHooksView, RestHookView, WebhookEndpointViewSet

router = SimpleRouter(trailing_slash=False, use_regex_path=False)
router.register("webhooks", WebhookEndpointViewSet, basename="webhook")
router.register("deliveries", DeliveryViewSet, basename="delivery")
router.register("events", EventViewSet, basename="event")

urlpatterns = [
    *router.urls,
    path("hooks", RestHooksView.as_view(), name="hooks"),
    path("hooks/<uuid:hook_id>", RestHookView.as_view(), name="hook"),
]
