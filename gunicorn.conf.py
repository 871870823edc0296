# Read by gunicorn from the directory it starts in (make run, docker compose, the image and the
# bench all start it here). Flags on the command line still apply; this only adds what every
# web process must have.

# The access log never shows an intake key given as ?api_token= (leadhub/gunicorn_logging.py).
logger_class = "leadhub.gunicorn_logging.RedactingLogger"
