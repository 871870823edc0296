"""What the web process does as it loads the app (leadhub/wsgi.py, which gunicorn's master
preloads: gunicorn.conf.py), so that the first requests after a start pay none of it."""

import json
import os
import subprocess
import sys
from pathlib import Path

from gunicorn.app.base import Application

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import gc, json
import leadhub.wsgi
from django.conf import settings
from leadhub.api import strict
from messaging.ai import client
print(json.dumps({
    "frozen": gc.get_freeze_count(),
    "contracts": len(strict._contracts.get(settings.ROOT_URLCONF) or {}),
    "clients": len(client._clients),
    "urlconf_loaded": "messaging.urls" in __import__("sys").modules,
}))
"""


def test_loading_the_app_builds_what_first_requests_would_and_freezes_it(tmp_path):
    env = {
        **os.environ,
        # SQLite: the row-level security check of the PostgreSQL pass has nothing to wait for.
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "ANTHROPIC_API_KEY": "sk-ant-boot",
        "ANTHROPIC_BASE_URL": "http://127.0.0.1:9",  # never called: the client is only built
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert loaded["urlconf_loaded"]
    assert loaded["contracts"] > 0
    assert loaded["clients"] == 1
    # The objects of the boot are out of the collector's reach (hundreds of thousands).
    assert loaded["frozen"] > 10_000


def test_gunicorn_preloads_the_app():
    assert gunicorn_config().preload_app is True


class _Config(Application):
    def load_config(self):
        self.load_config_from_file(str(ROOT / "gunicorn.conf.py"))

    def load(self):  # never served
        raise AssertionError("only the configuration is read")


def gunicorn_config():
    """The configuration gunicorn reads from the repository's gunicorn.conf.py."""
    return _Config().cfg
