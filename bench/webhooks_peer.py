"""The peer of the webhook bench: django-webhook (PyPI), installed into a throwaway Django project
generated in the run's temporary folder (its own database, the same Redis and receiver, the
same worker concurrency), draining its own backlog as LeadHub's engine does in webhooks.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from harness import BIN, reset_database
from webhooks_services import Receiver, Redis, drain_rate, wait_for

PEER_PACKAGES = ["django-webhook==0.0.15", "django-model-utils==4.5.1"]


PEER_SETTINGS = """
import os
SECRET_KEY = "bench"
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "django_webhook", "leads"]
import dj_database_url
DATABASES = {"default": dj_database_url.parse(os.environ["PEER_DATABASE_URL"], conn_max_age=600)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
CELERY_BROKER_URL = os.environ["PEER_BROKER_URL"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
DJANGO_WEBHOOK = {"MODELS": ["leads.Lead"], "STORE_EVENTS": True, "USE_CACHE": True}
"""


PEER_CELERY = """
import os
from celery import Celery
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peer.settings")
app = Celery("peer")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
"""


PEER_MODELS = """
from django.db import models

class Lead(models.Model):
    name = models.CharField(max_length=100)
    n = models.IntegerField()
"""


PEER_EMIT = """
import os, sys, django
django.setup()
from django_webhook.models import Webhook, WebhookTopic
from leads.models import Lead
urls, events = sys.argv[1].split(","), int(sys.argv[2])
topic = WebhookTopic.objects.get(name="leads.Lead/create")
for url in urls:
    Webhook.objects.create(url=url).topics.add(topic)
for n in range(events):
    Lead.objects.create(name="Bench Lead", n=n)
"""


def run_peer(
    receiver: Receiver, redis: Redis, logs: Path, *, database_url: str, events: int, endpoints: int, concurrency: int
) -> dict:
    """django-webhook (one Celery task per delivery, requests) draining the same receiver: its
    events are queued with no worker running, then its worker starts, as for LeadHub. Its
    database (`database_url`) is dropped and created first."""
    project = logs / "peer"
    lib = logs / "peer-lib"
    if not (lib / "django_webhook").exists():
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(lib), *PEER_PACKAGES],
            check=True,
        )
    (project / "peer").mkdir(parents=True, exist_ok=True)
    (project / "leads" / "migrations").mkdir(parents=True, exist_ok=True)
    (project / "peer" / "__init__.py").write_text("from .celery import app\n")
    (project / "peer" / "settings.py").write_text(PEER_SETTINGS)
    (project / "peer" / "celery.py").write_text(PEER_CELERY)
    (project / "leads" / "__init__.py").write_text("")
    (project / "leads" / "migrations" / "__init__.py").write_text("")
    (project / "leads" / "models.py").write_text(PEER_MODELS)
    (project / "emit.py").write_text(PEER_EMIT)
    reset_database(database_url)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL"))} | {
        "DJANGO_SETTINGS_MODULE": "peer.settings",
        "PEER_DATABASE_URL": database_url,
        "PEER_BROKER_URL": redis.url.rsplit("/", 1)[0] + "/1",
        "PYTHONPATH": f"{project}:{lib}",
    }
    manage = [
        "-c",
        "import sys, django; from django.core.management import execute_from_command_line; "
        "execute_from_command_line(['manage.py', *sys.argv[1:]])",
    ]
    for command in (["makemigrations", "leads", "-v", "0"], ["migrate", "-v", "0"]):
        subprocess.run([sys.executable, *manage, *command], cwd=project, env=env, check=True)
    receiver.ask("clear")
    urls = ",".join(f"http://127.0.0.1:{receiver.port.value}/peer{n}" for n in range(endpoints))
    subprocess.run([sys.executable, "emit.py", urls, str(events)], cwd=project, env=env, check=True)
    worker = subprocess.Popen(
        [
            str(BIN / "celery"),
            "-A",
            "peer",
            "worker",
            "--concurrency",
            str(concurrency),
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=project,
        env=env,
        stdout=(logs / "peer-worker.log").open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        complete = wait_for(receiver, events * endpoints, timeout=max(120, events * endpoints / 20))
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(30)
    records = receiver.ask("dump")
    rate, span = drain_rate(records)
    return {
        "scenario": f"drain-{endpoints}",
        "engine": "django-webhook 0.0.15",
        "events": events,
        "endpoints": endpoints,
        "deliveries_expected": events * endpoints,
        "deliveries_received": len(records),
        "complete": complete,
        "seconds_first_to_last": span,
        "deliveries_per_second": rate,
        "worker_concurrency": concurrency,
    }
