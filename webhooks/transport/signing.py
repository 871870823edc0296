"""Webhook secrets (`whsec_` + base64) and the signatures every delivery carries (SPEC §6):
Standard Webhooks' `webhook-signature` and the raw-body `X-LeadHub-Signature`. Pure functions."""

import base64
import binascii
import hashlib
import hmac
import secrets as random_secrets

SECRET_PREFIX = "whsec_"
SECRET_MIN_BYTES = 24
SECRET_MAX_BYTES = 64
SECRET_DEFAULT_BYTES = 32


def secret_generate() -> str:
    return SECRET_PREFIX + base64.b64encode(random_secrets.token_bytes(SECRET_DEFAULT_BYTES)).decode()


def secret_decode(secret: str) -> bytes:
    """The key bytes of a `whsec_` secret; ValueError when it is not one of 24 to 64 bytes."""
    if not isinstance(secret, str) or not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"A secret starts with {SECRET_PREFIX}.")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"A secret is {SECRET_PREFIX} followed by standard base64.") from None
    if not SECRET_MIN_BYTES <= len(key) <= SECRET_MAX_BYTES:
        raise ValueError(f"A secret encodes {SECRET_MIN_BYTES} to {SECRET_MAX_BYTES} bytes, not {len(key)}.")
    return key


def signature_headers(*, keys: list[bytes], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The Standard Webhooks headers, one `v1,` signature per key (two during a rotation), and
    X-LeadHub-Signature: the hex HMAC-SHA256 of the raw body under each key.

    `v1,` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")) is exactly what the
    standardwebhooks library computes (the tests verify with it); computed here directly
    because it runs for every attempt."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    standard = ["v1," + base64.b64encode(hmac.digest(key, signed, hashlib.sha256)).decode() for key in keys]
    raw = ["sha256=" + hmac.digest(key, body, hashlib.sha256).hex() for key in keys]
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(standard),
        "X-LeadHub-Signature": " ".join(raw),
    }
