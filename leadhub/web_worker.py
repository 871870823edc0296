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
"""

from gunicorn.workers.gthread import ThreadWorker as GThreadWorker


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
