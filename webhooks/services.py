"""The writes of webhooks, where other apps and the API find them (a stable import path:
`from webhooks.services import event_emit`). They live by capability: the outbox
(webhooks.outbox.services) and the endpoints (webhooks.endpoints.services); the delivery
engine is webhooks.engine, the HTTP side webhooks.transport."""

from .endpoints.services import (
    EndpointLimitReached,
    NewEndpoint,
    endpoint_create,
    endpoint_delete,
    endpoint_rotate_secret,
    endpoint_test,
    endpoint_update,
)
from .outbox.services import (
    REPLAY_BULK_LIMIT,
    DeliveryNotPending,
    ReplayRunning,
    deliveries_give_up,
    deliveries_replay,
    deliveries_replay_failed,
    delivery_give_up,
    delivery_replay,
    event_emit,
    event_emit_many,
    events_ctes,
    events_dispatch,
    events_emit,
)

__all__ = [
    "REPLAY_BULK_LIMIT",
    "DeliveryNotPending",
    "EndpointLimitReached",
    "NewEndpoint",
    "ReplayRunning",
    "deliveries_give_up",
    "deliveries_replay",
    "deliveries_replay_failed",
    "delivery_give_up",
    "delivery_replay",
    "endpoint_create",
    "endpoint_delete",
    "endpoint_rotate_secret",
    "endpoint_test",
    "endpoint_update",
    "event_emit",
    "event_emit_many",
    "events_ctes",
    "events_dispatch",
    "events_emit",
]
