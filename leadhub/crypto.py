"""Secrets at rest: symmetric encryption with keys from the environment, never SECRET_KEY.

Contract: `encrypt(text) -> token` and `decrypt(token) -> text` over cryptography's MultiFernet
(AES-128-CBC + HMAC-SHA256, a timestamp, versioned tokens). `FIELD_ENCRYPTION_KEYS` lists Fernet
keys, newest first: the first encrypts, every one of them decrypts, so a key is rotated by
putting a new key in front, running `manage.py rotate_encryption_keys` (re-encrypts every
stored value with the first key), then dropping the old key. The keys live outside the database
and apart from SECRET_KEY, so a database dump, or a leaked SECRET_KEY, reveals no secret.

`EncryptedTextField` is a TextField whose database value is the token and whose Python value
is the plain text. Its values cannot be searched or compared in SQL (each encryption differs).
"""

from __future__ import annotations

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

__all__ = ["EncryptedTextField", "InvalidToken", "decrypt", "encrypt", "generate_key", "rotate"]


def generate_key() -> str:
    """A new key for FIELD_ENCRYPTION_KEYS (url-safe base64 of 32 random bytes)."""
    return Fernet.generate_key().decode()


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is empty")
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except (ValueError, TypeError):
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS must be comma-separated Fernet keys (url-safe base64 of 32 bytes); "
            "make one with: python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
        ) from None


def _current() -> MultiFernet:
    # Keyed on the tuple so that tests overriding the setting get their own MultiFernet.
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(text: str) -> str:
    return _current().encrypt(text.encode()).decode()


def decrypt(token: str) -> str:
    """The plain text of `token`; InvalidToken when no configured key opens it."""
    return _current().decrypt(token.encode()).decode()


def rotate(token: str) -> str:
    """`token` re-encrypted with the first key (what `rotate_encryption_keys` does per value)."""
    return _current().rotate(token.encode()).decode()


class EncryptedTextField(models.TextField):
    """Stores `encrypt(value)`, gives back `decrypt(token)`. Blank stays blank, NULL stays NULL."""

    description = "Text encrypted at rest (Fernet)"

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(str(value))

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_lookup(self, lookup_name):
        # Ciphertexts differ on every save: only NULL/blank tests mean anything in SQL.
        if lookup_name not in {"isnull", "exact"}:
            return None
        return super().get_lookup(lookup_name)
