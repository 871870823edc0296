"""gunicorn's access log without the intake's `api_token` (SPEC §5.1).

A form tool may put its intake key in the URL (`?api_token=…`); it must not end up in our own
access log. gunicorn.conf.py (read by every `gunicorn` started in the project's directory:
make run, docker compose, the image, the bench) sets this class as the logger.
"""

import re

from gunicorn.glogging import Logger

_TOKEN = re.compile(r"(api_token(?:=|%3D))[^&\s\"'#]*", re.IGNORECASE)
REDACTED = "[REDACTED]"


def redact(value: str) -> str:
    return _TOKEN.sub(rf"\g<1>{REDACTED}", value)


class RedactingLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        # Every text atom: the request line, the query, the raw URI, and headers such as Referer.
        return {key: redact(value) if isinstance(value, str) else value for key, value in atoms.items()}
