"""Calendly: the provider boundary (client.py), a workspace's connection, its slots and the
bookings its webhooks report (services.py), and its API and webhook (api.py)."""
