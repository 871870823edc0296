"""The webhooks API (SPEC §6), by capability: endpoints (endpoints.py), the delivery log and
replays (deliveries.py), an endpoint's figures (figures.py), events (events.py) and Zapier's
REST hooks (rest_hooks.py). Scopes webhooks:read and webhooks:write; the plan must include
webhooks (common.py)."""

from .deliveries import DeliveryViewSet
from .endpoints import WebhookEndpointViewSet
from .events import EventViewSet
from .rest_hooks import RestHooksView, RestHookView

__all__ = ["DeliveryViewSet", "EventViewSet", "RestHookView", "RestHooksView", "WebhookEndpointViewSet"]
