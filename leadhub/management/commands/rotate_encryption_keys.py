"""Re-encrypt every secret stored at rest with the first of FIELD_ENCRYPTION_KEYS."""

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from leadhub.crypto import EncryptedTextField


class Command(BaseCommand):
    help = (
        "After putting a new key first in FIELD_ENCRYPTION_KEYS, re-encrypt every stored secret with it; "
        "then the old key can be dropped."
    )

    def handle(self, *args, **options):
        total = 0
        for model in apps.get_models():
            names = [field.name for field in model._meta.concrete_fields if isinstance(field, EncryptedTextField)]
            if not names:
                continue
            with transaction.atomic():
                # Loading decrypts with whichever key opens the value; saving encrypts with the
                # first key: that is the rotation. Secrets are few rows (lines, endpoints).
                for instance in model._default_manager.select_for_update().only("pk", *names).iterator(chunk_size=500):
                    instance.save(update_fields=names)
                    total += 1
        self.stdout.write(f"re-encrypted {total} row(s)")
