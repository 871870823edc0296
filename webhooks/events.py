"""The event types of SPEC §6."""

EVENT_TYPES: tuple[str, ...] = (
    "lead.created",
    "lead.updated",
    "lead.qualified",
    "lead.booked",
    "note.created",
    "conversation.completed",
    "message.received",
    "message.sent",
    "intent.detected",
    "campaign.callback.received",
    "booking.created",
    "booking.cancelled",
)
# Sent only by POST /api/v1/webhooks/{id}/test; never subscribed to.
PING = "webhook.ping"
