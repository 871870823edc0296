"""Tokens issued before COMPLIANT_BCP_RFC9700_TOKEN_STORAGE: drop their plaintext, keep the
checksum they are looked up by (django-oauth-toolkit filled token_checksum for every token).

Here rather than in accounts: a dependency of accounts on oauth2_provider's migrations would let
the planner run oauth2_provider's first migration (whose tokens point at accounts'
OAuthApplication) before accounts' own."""

from django.db import migrations


def blank_plaintext_tokens(apps, schema_editor):
    for model in ("AccessToken", "RefreshToken"):
        apps.get_model("oauth2_provider", model).objects.exclude(token="").update(token="")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("api", "0002_per_credential_encrypted"),
        ("oauth2_provider", "0022_refreshtoken_token_family_index"),
    ]

    operations = [migrations.RunPython(blank_plaintext_tokens, migrations.RunPython.noop)]
