"""Outbound messages: stored first (`queued`), handed to the provider by a Celery task with the
consent check at hand-off, status callbacks that only move forward, and send-whatsapp."""
