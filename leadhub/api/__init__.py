"""Cross-cutting API plumbing: authentication, errors, rate limits, idempotency, pagination."""
