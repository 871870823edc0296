"""Conversations: finding and locking them, appending messages in order, takeover and
handback, idle completion, and the /api/v1/conversations API."""
