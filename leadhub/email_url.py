"""EMAIL_URL (SPEC §8) to Django's e-mail settings.

    smtp://user:pass@host:port      SMTP, plain (port 25 by default)
    smtp+tls://user:pass@host:port  SMTP with STARTTLS (port 587 by default)
    smtps://user:pass@host:port     SMTP over implicit TLS (port 465 by default)
    console://                      printed to the console (the default, when unset)

User and password are percent-decoded (`%40` for `@`). A small parser rather than
dj-email-url, whose scheme names differ from the ones SPEC §8 gives (`smtp+tls`).
"""

from urllib.parse import unquote, urlparse

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
CONSOLE_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_PORTS = {"smtp": 25, "smtp+tls": 587, "smtps": 465}
TIMEOUT_SECONDS = 10


def parse(url: str) -> dict:
    """The EMAIL_* settings for `url`; ValueError saying what is wrong otherwise."""
    if not url or url == "console://":
        return {"EMAIL_BACKEND": CONSOLE_BACKEND}
    parsed = urlparse(url)
    if parsed.scheme not in DEFAULT_PORTS:
        raise ValueError("must start with smtp://, smtp+tls://, smtps:// or console://")
    if not parsed.hostname:
        raise ValueError("names no host (smtp://user:pass@host:port)")
    try:
        port = parsed.port or DEFAULT_PORTS[parsed.scheme]
    except ValueError:
        raise ValueError("has a port that is not a number from 1 to 65535") from None
    if parsed.path not in ("", "/") or parsed.query or parsed.fragment:
        raise ValueError("must have no path, query or fragment after host:port")
    return {
        "EMAIL_BACKEND": SMTP_BACKEND,
        "EMAIL_HOST": parsed.hostname,
        "EMAIL_PORT": port,
        "EMAIL_HOST_USER": unquote(parsed.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parsed.password or ""),
        "EMAIL_USE_TLS": parsed.scheme == "smtp+tls",
        "EMAIL_USE_SSL": parsed.scheme == "smtps",
        "EMAIL_TIMEOUT": TIMEOUT_SECONDS,
    }
