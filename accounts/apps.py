"""Tenancy, identity and credentials."""

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        # Imported here, as Django loads apps: models and services need the app registry ready.
        from .credentials import api_key_forget_deleted
        from .models import ApiKey
        from .plans import plans_ensure

        # A deleted key must leave the credential caches at once, however its row went: the
        # admin's delete page and action, a workspace deleted with its keys (a cascade), a shell.
        # The row's deletion is the one place all of them pass. Revoking stays the product's way
        # (api_key_revoke), which keeps the row for the record.
        def api_key_deleted(sender, instance, **kwargs) -> None:
            api_key_forget_deleted(api_key=instance)

        post_delete.connect(api_key_deleted, sender=ApiKey, weak=False, dispatch_uid="accounts.api_key_deleted")
        # Every migrate and flush puts back a missing plan (accounts/plans.py).
        post_migrate.connect(plans_ensure, sender=self, dispatch_uid="accounts.plans_ensure")
