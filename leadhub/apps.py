"""The project package as an app, for the management commands that compose several apps."""

from django.apps import AppConfig


class LeadhubConfig(AppConfig):
    name = "leadhub"
    verbose_name = "LeadHub"
