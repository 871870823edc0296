"""Contacts (leads) and everything that organises them; lead intake; Zapier polling; stats."""

from django.apps import AppConfig


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = "CRM"
