"""The hasher for OAuth client secrets (django-oauth-toolkit's CLIENT_SECRET_HASHER).

Client secrets are 128 random characters made by the machine, not passwords people choose:
no dictionary reaches them, so the million PBKDF2 rounds that protect passwords only make
every token request cost a CPU-second. A thousand rounds keep the stored form a salted KDF.
"""

from django.contrib.auth.hashers import PBKDF2PasswordHasher


class ClientSecretHasher(PBKDF2PasswordHasher):
    algorithm = "pbkdf2_sha256_client_secret"
    iterations = 1_000
