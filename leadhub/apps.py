"""The project package as an app, for the management commands that compose several apps."""

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class LeadhubConfig(AppConfig):
    name = "leadhub"
    verbose_name = "LeadHub"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from leadhub.postgresql import rls

        post_migrate.connect(rls.post_migrate_rls, sender=self, dispatch_uid="leadhub.tenancy.rls")


class OperatorsAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with the operators-only site as admin.site (leadhub/admin.py)."""

    default = False  # "leadhub" itself is LeadhubConfig
    default_site = "leadhub.admin.OperatorsAdminSite"
