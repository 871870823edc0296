"""Writes for messaging live by capability: brains and knowledge in messaging/brains/, lines in
messaging/lines/, inbound and outbound messages, conversations, the widget. `brain_create`
is re-exported here for the callers that import it from messaging.services."""

from .brains.services import brain_create

__all__ = ["brain_create"]
