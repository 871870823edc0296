"""Campaigns and sequence sending: scheduled outbound SMS, WhatsApp and voice."""

from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    # A Django app of its own inside messaging (SPEC §2 puts campaigns in messaging/), so
    # that its tables and migrations are apart from the conversations'.
    name = "messaging.campaigns"
    label = "campaigns"
    verbose_name = "Campaigns"
    default_auto_field = "django.db.models.BigAutoField"
