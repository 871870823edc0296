"""Webhook endpoints, the event outbox, deliveries and their attempts."""

from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks"
