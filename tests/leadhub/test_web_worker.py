"""The web process's gunicorn worker (leadhub/web_worker.py): gthread's, accepting a new
connection only while one of its threads is free, so a burst of slow requests is spread over
the workers instead of queueing in one."""

import gc
import inspect
import os
import runpy
import shlex
from collections import deque
from pathlib import Path

from gunicorn.config import Config
from gunicorn.workers.gthread import ThreadWorker as GThreadWorker

from leadhub.web_worker import ThreadWorker
from tests.test_deployment import compose_command, compose_services, dockerfile_cmd

WORKER_CLASS = "leadhub.web_worker.ThreadWorker"


def _worker(*, threads: int, connections: int = 1000) -> ThreadWorker:
    cfg = Config()
    cfg.set("threads", threads)
    cfg.set("worker_connections", connections)
    return ThreadWorker(0, os.getpid(), [], None, 30, cfg, None)


def _accepts(worker: GThreadWorker) -> bool:
    return worker.nr_conns < worker.worker_connections  # gthread's own test, in run()


def test_gthreads_loop_still_accepts_by_worker_connections():
    # The subclass rests on this line of gunicorn's loop (27.0, pinned): an upgrade that changes
    # it must be looked at.
    assert "can_accept = self.nr_conns < self.worker_connections" in inspect.getsource(GThreadWorker.run)


def test_it_accepts_while_a_thread_is_free():
    worker = _worker(threads=2)
    assert _accepts(worker)
    worker.nr_conns = 1
    assert _accepts(worker)


def test_it_stops_accepting_while_every_thread_serves_a_request():
    worker = _worker(threads=2)
    worker.nr_conns = 2
    assert not _accepts(worker)
    stock = GThreadWorker(0, os.getpid(), [], None, 30, worker.cfg, None)
    stock.nr_conns = 2
    assert _accepts(stock)  # gthread's own would take it, and queue it behind the two


def test_idle_kept_alive_and_pending_connections_take_no_thread():
    worker = _worker(threads=2)
    worker.nr_conns = 5
    worker.keepalived_conns = deque(["a", "b", "c"])
    assert not _accepts(worker)  # two serving
    worker.pending_conns = deque(["d"])
    assert _accepts(worker)  # one serving, one thread free


def test_the_configured_connection_cap_still_holds():
    worker = _worker(threads=10, connections=3)
    worker.nr_conns = 3
    worker.keepalived_conns = deque(["a", "b", "c"])
    assert not _accepts(worker)


def test_compose_and_the_image_run_it():
    web = shlex.split(compose_command(compose_services()["web"]))
    assert web[web.index("--worker-class") + 1] == WORKER_CLASS
    assert dockerfile_cmd() == web


def test_a_booted_worker_freezes_its_loaded_heap():
    # gunicorn.conf.py's post_worker_init, as every gunicorn started in the project runs it: after
    # it, the loaded heap is out of the full collections' reach (leadhub.web_worker.settle_heap).
    config = runpy.run_path(str(Path(__file__).resolve().parents[2] / "gunicorn.conf.py"))
    gc.unfreeze()
    try:
        config["post_worker_init"](_worker(threads=2))
        frozen = gc.get_freeze_count()
        assert frozen > 10_000  # Django and the apps, not a handful
        gc.collect()
        # A full collection walks the oldest generation: what was made since, not the frozen.
        assert len(gc.get_objects(generation=2)) < frozen / 10
    finally:
        gc.unfreeze()
