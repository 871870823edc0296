"""Secrets at rest: leadhub/crypto.py and the key settings."""

import io
import os
import stat
import subprocess
import sys
import threading

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection, models

from leadhub import crypto
from leadhub.env import var_secret
from tests.conftest import as_database_owner


def test_encrypt_round_trip_never_stores_the_plain_text():
    token = crypto.encrypt("AC-secret-token")
    assert "AC-secret-token" not in token
    assert crypto.encrypt("AC-secret-token") != token, "each encryption differs"
    assert crypto.decrypt(token) == "AC-secret-token"


def test_a_token_of_another_key_is_refused(settings):
    token = crypto.encrypt("x")
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(crypto.InvalidToken):
        crypto.decrypt(token)


def test_rotation_reencrypts_with_the_first_key_and_old_tokens_still_open(settings):
    old = settings.FIELD_ENCRYPTION_KEYS[0]
    token = crypto.encrypt("rotate me")
    new = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    assert crypto.decrypt(token) == "rotate me"
    rotated = crypto.rotate(token)
    settings.FIELD_ENCRYPTION_KEYS = [new]
    assert crypto.decrypt(rotated) == "rotate me"


def test_a_malformed_key_is_refused_naming_the_setting(settings):
    settings.FIELD_ENCRYPTION_KEYS = ["not-a-key"]
    with pytest.raises(ImproperlyConfigured, match="FIELD_ENCRYPTION_KEYS"):
        crypto.encrypt("x")


class _Secretive(models.Model):
    token = crypto.EncryptedTextField(blank=True)

    class Meta:
        app_label = "leadhub"
        managed = False
        db_table = "test_crypto_secretive"

    def __str__(self) -> str:
        return str(self.pk)


@pytest.fixture
def secretive_table(transactional_db):
    with as_database_owner(), connection.schema_editor() as editor:
        editor.create_model(_Secretive)
    yield _Secretive
    with as_database_owner(), connection.schema_editor() as editor:
        editor.delete_model(_Secretive)


def _stored(pk) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT token FROM test_crypto_secretive WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_encrypted_field_stores_ciphertext_and_loads_plain_text(secretive_table):
    row = secretive_table.objects.create(token="whsec_plain")
    assert _stored(row.pk) != "whsec_plain"
    assert "whsec_plain" not in _stored(row.pk)
    assert secretive_table.objects.get(pk=row.pk).token == "whsec_plain"
    blank = secretive_table.objects.create(token="")
    assert _stored(blank.pk) == ""


def test_rotate_encryption_keys_command_reencrypts_every_stored_secret(secretive_table, settings):
    # _Secretive is registered in the app registry (app_label leadhub), so the command finds it.
    row = secretive_table.objects.create(token="keep me")
    old = settings.FIELD_ENCRYPTION_KEYS[0]
    new = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    out = io.StringIO()
    call_command("rotate_encryption_keys", stdout=out)
    assert "re-encrypted 1 row(s)" in out.getvalue()
    settings.FIELD_ENCRYPTION_KEYS = [new]
    assert crypto.decrypt(_stored(row.pk)) == "keep me"


def test_embedded_default_generates_key_files_owner_only_from_creation(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "FIELD_ENCRYPTION_KEYS"}}
    env |= {"LEADHUB_VAR_DIR": str(tmp_path / "var"), "DJANGO_SETTINGS_MODULE": "leadhub.settings"}
    code = "import os; os.umask(0); from django.conf import settings; print(settings.FIELD_ENCRYPTION_KEYS[0])"
    first = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    again = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert first.stdout == again.stdout, "the generated key is kept"
    for name in ("field-encryption-key", "secret-key"):
        mode = stat.S_IMODE((tmp_path / "var" / name).stat().st_mode)
        assert mode == 0o600, (name, oct(mode))


def test_a_process_starting_while_another_writes_the_key_reads_the_whole_key(tmp_path):
    """`make run` starts web, worker and beat at once: one that finds the file while another
    is still writing it must not read an empty or partial key."""
    started, finish = threading.Event(), threading.Event()

    def slow():
        started.set()
        assert finish.wait(5)
        return "key-of-the-slow-writer"

    results = {}
    writer = threading.Thread(target=lambda: results.setdefault("slow", var_secret(tmp_path, "secret-key", slow)))
    writer.start()
    assert started.wait(5)
    results["fast"] = var_secret(tmp_path, "secret-key", lambda: "key-of-the-fast-writer")
    finish.set()
    writer.join(5)
    assert results["fast"] == results["slow"] == (tmp_path / "secret-key").read_text()
    assert results["fast"] in {"key-of-the-slow-writer", "key-of-the-fast-writer"}
    assert stat.S_IMODE((tmp_path / "secret-key").stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret-key"]  # nothing half-made left


def test_settings_refuse_a_bad_key_at_start_naming_the_variable(tmp_path):
    env = dict(os.environ, FIELD_ENCRYPTION_KEYS="short", LEADHUB_VAR_DIR=str(tmp_path))
    env["DJANGO_SETTINGS_MODULE"] = "leadhub.settings"
    done = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; settings.FIELD_ENCRYPTION_KEYS"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS" in done.stderr
