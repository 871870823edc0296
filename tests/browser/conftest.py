"""A real headless Chromium (Debian's chromium and chromium-driver, never a downloaded browser)
driven by Selenium against the live test server; screenshots go to var/screenshots/."""

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.db import connection

from tests.messaging.conftest import twilio_api  # noqa: F401 (a fixture: the Twilio double)
from tests.polling import until

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SCREENSHOTS = ROOT / "var" / "screenshots"
SIZES = {"desktop": (1280, 900), "phone": (375, 812)}

# Selenium must never fetch a driver or a browser of its own.
os.environ["SE_OFFLINE"] = "true"


def pytest_collection_modifyitems(config, items):
    if os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER):
        return
    skip = pytest.mark.skip(reason="needs Debian's chromium and chromium-driver (.ci/run installs them)")
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def chromium(live_server):
    """The browser, for the whole session. It quits before the live server stops (it is set up
    after it), and the server's request threads are let end first: the connections it keeps alive
    hold those threads, and each closes the test database's connection when it ends. On SQLite
    that connection is the in-memory database, shared with them only while the server runs;
    closed after, it raised in their thread (a PytestUnhandledThreadExceptionWarning at the end
    of the session)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.implicitly_wait(0)
    yield driver
    driver.quit()
    until(lambda: not any(t.name.endswith("(process_request_thread)") for t in threading.enumerate()))


@pytest.fixture(params=list(SIZES))
def browser(request, chromium, live_server, task_worker):
    """The browser at a desktop size and at 375 px wide, logged out, pointed at the server."""
    width, height = SIZES[request.param]
    chromium.delete_all_cookies()
    chromium.set_window_size(width, height)
    chromium.size_name = request.param
    chromium.base = live_server.url
    yield chromium
    chromium.get("about:blank")


def shot(browser, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOTS / f"{name}-{browser.size_name}.png"))


@pytest.fixture
def task_worker(transactional_db, settings, twilio_api):  # noqa: F811 (the imported fixture)
    """Celery tasks of the live server run for real. On PostgreSQL a worker process consumes
    the broker against the test database, so progress is seen as it happens; the in-memory
    SQLite test database cannot be shared with another process, so there tasks run eagerly in
    the server's thread (still through Celery's own call path). Provider calls of either go
    to the Twilio double, never out of this machine."""
    from leadhub.celery import app

    if connection.vendor != "postgresql":
        app.conf.task_always_eager = True
        yield
        app.conf.task_always_eager = False
        return
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "WEBHOOK_ALLOW_HTTP": "true",
        "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8,::1/128",
        "TWILIO_API_BASE_URL": twilio_api.url,
        "ANTHROPIC_API_KEY": "",
    }
    command = [sys.executable, "-m", "celery", "-A", "leadhub", "worker", "-P", "solo", "--loglevel", "WARNING"]
    worker = subprocess.Popen(
        [*command, "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT,
        env=env,
    )
    time.sleep(1.5)
    yield
    worker.terminate()
    worker.wait(timeout=20)
