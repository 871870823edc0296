# Read by gunicorn from the directory it starts in (make run, docker compose, the image and the
# bench all start it here). Flags on the command line still apply; this only adds what every
# web process must have.

# The access log never shows an intake key given as ?api_token= (leadhub/gunicorn_logging.py).
logger_class = "leadhub.gunicorn_logging.RedactingLogger"


def post_worker_init(worker):
    """Build the API's contracts (strict input, leadhub/api/strict.py: every operation's OpenAPI
    description) while the worker boots, not on its first request, which would wait 1-2 s; then
    freeze the loaded heap out of the garbage collector's full collections, which otherwise stop
    the worker for hundreds of milliseconds every few seconds under load
    (leadhub.web_worker.settle_heap)."""
    from django.conf import settings

    from leadhub.api.strict import contracts_for
    from leadhub.web_worker import settle_heap

    try:
        contracts_for(settings.ROOT_URLCONF)
    except Exception:  # the first request builds them again and shows what is wrong
        worker.log.exception("Could not build the API contracts at boot")
    settle_heap()
