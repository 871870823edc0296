# Read by gunicorn from the directory it starts in (make run, docker compose, the image and the
# bench all start it here). Flags on the command line still apply; this only adds what every
# web process must have.

# The access log never shows an intake key given as ?api_token= (leadhub/gunicorn_logging.py).
logger_class = "leadhub.gunicorn_logging.RedactingLogger"

# The app (leadhub.wsgi: Django, every view, the API contracts, the model's client, the heap
# frozen) is loaded once, in the master, before it listens; the workers are forked from it ready
# to serve. Loaded in each worker instead, the first requests after a start arrived while the
# workers were still importing (~1.8 s of CPU each, 3 workers on 2 cores) and queued for them:
# bench/messaging.py part (b)'s first round. New code needs a restart of the master (a HUP only
# restarts the workers).
preload_app = True


def post_worker_init(worker):
    """The worker's own client of the model (messaging/ai/client.py: a forked process does not share
    its parent's), built now rather than on the worker's first model call; its database pool
    opened with its DATABASE_POOL_MIN_SIZE connections (leadhub/pool.py), so the first requests
    do not open backends of their own (part (b)'s first round did: 50 at once); then what the
    worker made since the fork frozen too (leadhub.web_worker.settle_heap: the master froze the
    loaded heap, which a full collection no longer walks, so this collection is short)."""
    from leadhub.pool import pool_warm
    from leadhub.web_worker import settle_heap
    from messaging.ai import client_warm

    client_warm()
    pool_warm()
    settle_heap()
