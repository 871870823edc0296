"""The web process's gunicorn worker: gunicorn's gthread worker that takes a new connection only
when one of its threads is free to serve it (docker-compose's and the Dockerfile's
`--worker-class leadhub.web_worker.ThreadWorker`).

gunicorn's gthread worker accepts connections up to `--worker-connections` (1,000), whatever
its threads are doing, and queues the requests in its own thread pool. With requests that wait
long on something else (a conversation's turn waiting on the model, seconds), a burst of new
connections is split among the workers by whichever wakes first: one worker takes more than its
threads can serve and those requests queue behind a whole model call while the other workers'
threads sit idle (bench/messaging.py part (b): 50 conversations at once on 3 × 24 threads,
p99 two model calls instead of one). This worker stops accepting while all its threads are
busy, so the connection waits in the kernel's listen queue for the next worker with a free
thread. Idle kept-alive connections take no thread and do not count; a request arriving on one
is served by its worker, as before.

`settle_heap()` is the other half of a web worker's start (gunicorn.conf.py's post_worker_init
calls it in every gunicorn, this worker class or not): see its docstring.
"""

import gc

from gunicorn.workers.gthread import ThreadWorker as GThreadWorker


def settle_heap() -> int:
    """Take what the worker has loaded (Django, the apps, the API's contracts: about 300,000
    objects) out of the cyclic garbage collector's reach: collect once, then `gc.freeze()`.
    Returns how many objects are frozen.

    Python's oldest generation is collected whenever the objects promoted into it since the last
    full collection reach a quarter of those it holds. Under load the objects of requests in
    flight survive the young collections and are promoted, so a busy worker ran a full collection
    every few seconds, each walking the whole loaded heap with the GIL held: 180-610 ms measured
    with gc.callbacks under `wrk -c16` on /livez, and every request of that worker waited for it
    (p99 102 ms against p50 3 ms). Frozen objects are never walked again, so a full collection
    now walks only what the worker built since (at most 4 ms measured). What is frozen is never
    freed; the collection before it leaves only live objects there (Instagram's gc.freeze).
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


class ThreadWorker(GThreadWorker):
    # gthread's loop accepts while `nr_conns < worker_connections` (gunicorn 27.0, pinned in
    # requirements.txt; tests/leadhub/test_web_worker.py checks these names still hold).
    @property
    def worker_connections(self) -> int:
        serving = self.nr_conns - len(self.keepalived_conns) - len(self.pending_conns)
        if serving < self.cfg.threads and self.nr_conns < self.cfg.worker_connections:
            return self.nr_conns + 1
        return self.nr_conns

    @worker_connections.setter
    def worker_connections(self, value: int) -> None:
        pass  # gthread's __init__ sets it from the configuration; the cap is read from cfg above
