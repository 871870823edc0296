"""LeadHub settings: every value comes from the environment, documented in README.md."""

import base64
import os
import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from leadhub import email_url
from leadhub.api.conf import API_REST_FRAMEWORK, API_SPECTACULAR_SETTINGS
from leadhub.database import database_from_env
from leadhub.env import (
    env_base_url,
    env_bool,
    env_int,
    env_list,
    env_networks,
    env_str,
    url_checked,
    var_secret,
)
from leadhub.schedule import BEAT_SCHEDULE

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("LEADHUB_VAR_DIR", BASE_DIR / "var"))


def _secret_key() -> str:
    # The embedded default keeps a generated key in var/ so sessions survive restarts;
    # production sets SECRET_KEY (docker-compose.yml refuses to start without it).
    return env_str("SECRET_KEY") or var_secret(VAR_DIR, "secret-key", lambda: secrets.token_urlsafe(50))


def _field_encryption_keys() -> list[str]:
    # Keys for secrets at rest (leadhub/crypto.py), apart from SECRET_KEY and the database.
    # The embedded default generates one into var/; docker-compose.yml requires the variable.
    keys = env_list("FIELD_ENCRYPTION_KEYS")
    if not keys:
        keys = [var_secret(VAR_DIR, "field-encryption-key", lambda: base64.urlsafe_b64encode(os.urandom(32)).decode())]
    for key in keys:
        try:
            valid = len(base64.urlsafe_b64decode(key.encode())) == 32
        except (ValueError, TypeError):
            valid = False
        if not valid:
            raise ImproperlyConfigured(
                "FIELD_ENCRYPTION_KEYS must be comma-separated Fernet keys (url-safe base64 of 32 bytes), newest first"
            )
    return keys


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = _secret_key()
FIELD_ENCRYPTION_KEYS = _field_encryption_keys()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "leadhub.apps.OperatorsAdminConfig",  # django.contrib.admin, superusers only
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "oauth2_provider",
    "django_ratelimit",
    "django_htmx",
    "leadhub",
    "leadhub.api",
    "accounts",
    "webhooks",
    "crm",
    "messaging",
    "booking",
    "messaging.campaigns",
    "leadhub.web",
    "dashboard",
]

MIDDLEWARE = [
    # Each request starts with no tenancy scope (row-level security, leadhub/tenancy.py).
    "leadhub.tenancy.TenancyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "leadhub.api.ratelimit.RateLimitHeadersMiddleware",
    "leadhub.api.bodylimit.BodySizeLimitMiddleware",
    # Before CommonMiddleware, whose APPEND_SLASH would redirect (and lose a POST).
    "leadhub.api.slashes.OptionalSlashMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "leadhub.urls"
WSGI_APPLICATION = "leadhub.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "leadhub.web.context_processors.layout",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------

DATABASE_URL, _default_database = database_from_env(VAR_DIR)
DATABASES = {"default": _default_database}
# With DATABASE_ROLE the login itself is held to the row-level security check too (any
# statement can RESET ROLE), except in tests and benchmarks, whose login created the database.
RLS_ALLOW_PRIVILEGED_LOGIN = env_bool("RLS_ALLOW_PRIVILEGED_LOGIN", False)
# The Django admin (/admin/), for operators. Under row-level security it must be served by a
# process that logs in as the operator role: compose runs it as its own service (`admin`) and
# turns it off in `web`, which logs in as the app role (README "Row-level security").
ADMIN_ENABLED = env_bool("ADMIN_ENABLED", True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, broker ------------------------------------------------------------------------

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    url_checked("REDIS_URL", REDIS_URL, {"redis", "rediss", "unix"})
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "leadhub",
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": 1,
                "SOCKET_TIMEOUT": 1,
                # JSON, never pickles: whoever reaches Redis must not be able to run code in
                # every process that reads the cache (README, "Security").
                "SERIALIZER": "django_redis.serializers.json.JSONSerializer",
            },
            # Version 2: the keys of JSON values. Pickles written under version 1 before the
            # switch are never read (a JSON reader would fail on them); they expire on their own.
            "VERSION": 2,
        },
        # The rate-limit counters: the same Redis, a client that counts in one round trip
        # (leadhub.api.ratelimit.CountingRedisClient).
        "ratelimit": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "leadhub",
            "OPTIONS": {
                "CLIENT_CLASS": "leadhub.api.ratelimit.CountingRedisClient",
                "SOCKET_CONNECT_TIMEOUT": 1,
                "SOCKET_TIMEOUT": 1,
                "SERIALIZER": "django_redis.serializers.json.JSONSerializer",
            },
            "VERSION": 2,
        },
    }
    RATELIMIT_USE_CACHE = "ratelimit"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "leadhub"}}
    # django-ratelimit refuses a per-process cache (E003, and W001 "not supported") because
    # limits would not be shared between processes. The embedded default serves the web
    # from exactly one process (see Procfile), so its counts are complete; production sets
    # REDIS_URL and gets django-redis, which passes both checks.
    SILENCED_SYSTEM_CHECKS = ["django_ratelimit.E003", "django_ratelimit.W001"]

# When the cache is down, rate limits let requests through rather than refusing every
# client; /healthz reports the outage.
RATELIMIT_FAIL_OPEN = True
DJANGO_REDIS_IGNORE_EXCEPTIONS = True
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or REDIS_URL or f"sqla+sqlite:///{VAR_DIR / 'celery-broker.sqlite3'}"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
# Celery closes Django's database connections around every task unless told to reuse them,
# and a new PostgreSQL connection costs more than most tasks. leadhub/celery.py applies
# Django's own rule instead (DATABASE_CONN_MAX_AGE, health checks), as for a web request.
CELERY_DB_REUSE_MAX = 1_000_000
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = BEAT_SCHEDULE  # leadhub/schedule.py

# --- Auth, API ----------------------------------------------------------------------------

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",  # people's passwords (the first is the default)
    "accounts.hashers.ClientSecretHasher",  # machine-made OAuth client secrets
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# The dashboard's log in and out (Django's auth views); the admin keeps its own page.
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

OAUTH2_PROVIDER_APPLICATION_MODEL = "accounts.OAuthApplication"
OAUTH2_PROVIDER = {
    "ACCESS_TOKEN_EXPIRE_SECONDS": env_int("OAUTH_ACCESS_TOKEN_LIFETIME", 3600, minimum=60),
    "SCOPES_BACKEND_CLASS": "accounts.oauth.WorkspaceScopes",
    "OAUTH2_VALIDATOR_CLASS": "accounts.oauth.WorkspaceOAuth2Validator",
    "APPLICATION_ADMIN_CLASS": "accounts.admin.OAuthApplicationAdmin",
    "ACCESS_TOKEN_ADMIN_CLASS": "accounts.admin.AccessTokenAdmin",
    "REFRESH_TOKEN_ADMIN_CLASS": "accounts.admin.RefreshTokenAdmin",
    "CLIENT_SECRET_HASHER": "pbkdf2_sha256_client_secret",
    # RFC 9700 (OAuth 2.0 Security BCP), every gate of django-oauth-toolkit on. Above all: tokens
    # are stored as their SHA-256 only (the `token` column stays blank), so a database dump holds
    # no usable token, and lookups are by that checksum; a token is taken only from the
    # Authorization header, never from a URL. LeadHub issues client-credentials tokens only, so
    # the grants and redirect rules below change nothing it offers (`check --deploy` is clean).
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
}

# DRF and drf-spectacular: how every API view authenticates, limits, pages and is documented.
REST_FRAMEWORK = API_REST_FRAMEWORK
SPECTACULAR_SETTINGS = API_SPECTACULAR_SETTINGS

# --- Webhooks -------------------------------------------------------------------------------

# Development and tests only: admit http:// endpoint URLs, and exempt these networks from the
# refusal of private, loopback and other non-global addresses (SPEC §6).
WEBHOOK_ALLOW_HTTP = env_bool("WEBHOOK_ALLOW_HTTP", False)
WEBHOOK_ALLOWED_NETWORKS = env_networks("WEBHOOK_ALLOWED_NETWORKS")


def _webhook_retry_scale(*, debug: bool, allowed_networks: list[str]) -> float:
    # Development and benchmarks only: shrinks every wait of the retry schedule by this factor
    # (0.01: 30 s becomes 0.3 s), so that a failed delivery to replay shows up in minutes, not
    # 31 hours. Refused unless the setup is one for development (DEBUG) or for local receivers
    # (WEBHOOK_ALLOWED_NETWORKS), neither of which production (docker-compose.yml) sets.
    raw = env_str("WEBHOOK_RETRY_SCALE", "1")
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0.001 <= value <= 1:
        raise ImproperlyConfigured(f"WEBHOOK_RETRY_SCALE must be a number from 0.001 to 1, not {raw!r}")
    if value < 1 and not (debug or allowed_networks):
        raise ImproperlyConfigured(
            "WEBHOOK_RETRY_SCALE shortens the retry schedule for development only: it needs DEBUG=true or "
            "WEBHOOK_ALLOWED_NETWORKS (a local setup); unset it in production"
        )
    return value


WEBHOOK_RETRY_SCALE = _webhook_retry_scale(debug=DEBUG, allowed_networks=WEBHOOK_ALLOWED_NETWORKS)
# The engine (webhooks.engine): attempts in flight at once per endpoint and per workspace,
# over all workers (a tenant's share), and per engine loop (one per running task).
WEBHOOK_ENDPOINT_MAX_IN_FLIGHT = env_int("WEBHOOK_ENDPOINT_MAX_IN_FLIGHT", 10, minimum=1)
WEBHOOK_WORKSPACE_MAX_IN_FLIGHT = env_int("WEBHOOK_WORKSPACE_MAX_IN_FLIGHT", 50, minimum=1)
WEBHOOK_ENGINE_SLOTS = env_int("WEBHOOK_ENGINE_SLOTS", 100, minimum=1)
# With a shared cache (Redis), commits queue at most one dispatch task at a time (it claims for
# everyone); the embedded default's cache is per process, so each commit queues its own.
WEBHOOK_DISPATCH_COALESCE = bool(REDIS_URL)

# --- Messaging: providers and AI (SPEC §7) ------------------------------------------------

# Every provider REST call of every line goes to this base instead of Twilio's (or the
# SignalWire space's): a Twilio-compatible gateway, or a local test double. Unset: the real APIs.
TWILIO_API_BASE_URL = env_base_url("TWILIO_API_BASE_URL")
# Seconds a provider REST call may take before it counts as failed (and is retried).
TWILIO_TIMEOUT_SECONDS = env_int("TWILIO_TIMEOUT_SECONDS", 10, minimum=1)
# The scheme and host providers call (signatures are computed over it; callback URLs use it).
# Unset: the request's own scheme and host.
PUBLIC_BASE_URL = env_base_url("PUBLIC_BASE_URL")
# Without a key, the deterministic offline responder answers from the knowledge documents.
ANTHROPIC_API_KEY = env_str("ANTHROPIC_API_KEY")
ANTHROPIC_BASE_URL = env_base_url("ANTHROPIC_BASE_URL")
# The model of a brain that names none: a fast one, since a reply must come inside the webhook limit.
AI_DEFAULT_MODEL = env_str("AI_DEFAULT_MODEL", "claude-haiku-4-5")
# Inside the providers' 15 s webhook limit: past it the lead gets a holding reply.
AI_TIMEOUT_SECONDS = env_int("AI_TIMEOUT_SECONDS", 8, minimum=1)
AI_MAX_TOKENS = env_int("AI_MAX_TOKENS", 400, minimum=16)
# Guardrail: at most this many AI replies per conversation per hour (two bots can't loop for ever).
AI_MAX_REPLIES_PER_HOUR = env_int("AI_MAX_REPLIES_PER_HOUR", 30, minimum=1)
# New widget conversations (sessions) a brain may start per hour: a public bot_id cannot fill the
# database with sessions. Conversations already started are not limited.
WIDGET_NEW_CONVERSATIONS_PER_HOUR = env_int("WIDGET_NEW_CONVERSATIONS_PER_HOUR", 1000, minimum=1)
# An open conversation idle this long is completed (conversation.completed) by beat.
CONVERSATION_IDLE_MINUTES = env_int("CONVERSATION_IDLE_MINUTES", 30, minimum=1)
# An inbound message still unanswered this long after it arrived (the process running its turn
# died) is answered by beat through the provider's REST API: past any live turn, the model's time
# limit included.
INBOUND_ANSWER_AFTER_SECONDS = env_int(
    "INBOUND_ANSWER_AFTER_SECONDS", max(60, AI_TIMEOUT_SECONDS + 5), minimum=AI_TIMEOUT_SECONDS + 5
)
# Hand-off attempts of an outbound message on provider 5xx and timeouts before it is failed.
MESSAGE_SEND_MAX_ATTEMPTS = env_int("MESSAGE_SEND_MAX_ATTEMPTS", 5, minimum=1)

# --- Campaigns (SPEC §7) -----------------------------------------------------------------

# Messages per second of a line whose own `mps` is not set (Twilio's long codes send 1/s).
CAMPAIGN_DEFAULT_MPS = env_int("CAMPAIGN_DEFAULT_MPS", 1, minimum=1)
# Provider calls a campaign driver makes at once (each waits on the provider's answer).
CAMPAIGN_SEND_THREADS = env_int("CAMPAIGN_SEND_THREADS", 8, minimum=1)
# Drivers (worker tasks) that may send one campaign at once, sharing its line's pace.
CAMPAIGN_DRIVERS = env_int("CAMPAIGN_DRIVERS", 2, minimum=1)
# The largest create request: 100,000 recipients with a small context each fit in 32 MiB.
CAMPAIGN_MAX_REQUEST_BYTES = env_int("CAMPAIGN_MAX_REQUEST_BYTES", 32 * 1024 * 1024, minimum=1024)

# --- E-mail (booking invites, endpoint-disabled notices) -------------------------------------

# EMAIL_URL (SPEC §8): smtp://, smtp+tls://, smtps://; unset, mail is written to the console
# (the worker's log). pytest-django swaps in the locmem backend for tests.
try:
    _email = email_url.parse(env_str("EMAIL_URL"))
except ValueError as exc:  # the value is not repeated: it may hold a password
    raise ImproperlyConfigured(f"EMAIL_URL {exc}") from None
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST", "localhost")
EMAIL_PORT = _email.get("EMAIL_PORT", 25)
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = _email.get("EMAIL_TIMEOUT")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "LeadHub <noreply@localhost>")

# --- Booking --------------------------------------------------------------------------------

# Calendly's API: a gateway or a test double may stand in (SPEC §8).
CALENDLY_API_BASE_URL = url_checked(
    "CALENDLY_API_BASE_URL", env_str("CALENDLY_API_BASE_URL", "https://api.calendly.com"), {"http", "https"}
).rstrip("/")
# Calendly webhooks older than this (their signature's timestamp) are refused: replays.
CALENDLY_WEBHOOK_TOLERANCE_SECONDS = 300

# Per-workspace limits come from the plan (see accounts.Plan); this is the public one.
PUBLIC_RATE_PER_MINUTE = env_int("PUBLIC_RATE_PER_MINUTE", 100, minimum=1)
IDEMPOTENCY_KEY_TTL_HOURS = 24

# --- Internationalisation, static files, logging -------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Without a manifest so that `make run` needs no collectstatic step; whitenoise
    # finds files in the apps when STATIC_ROOT is empty (WHITENOISE_USE_FINDERS).
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# The proxies in front of web (CIDRs): behind them the client's address is the right-most
# X-Forwarded-For hop that is not one of them (leadhub.api.proxies), for every per-IP limit.
# Empty: REMOTE_ADDR, and X-Forwarded-For is ignored.
TRUSTED_PROXIES = env_networks("TRUSTED_PROXIES")
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("TRUST_X_FORWARDED_PROTO") else None
# The public scheme and host (behind a proxy): provider callbacks are built from it, and an
# https base makes the session and CSRF cookies secure unless SECURE_COOKIES says otherwise.
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL").rstrip("/")
if PUBLIC_BASE_URL:
    url_checked("PUBLIC_BASE_URL", PUBLIC_BASE_URL, {"http", "https"})
_HTTPS = PUBLIC_BASE_URL.startswith("https://")
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", _HTTPS)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Served over https (PUBLIC_BASE_URL) behind a TLS terminator whose X-Forwarded-Proto is trusted
# (compose sets both): plain http is redirected and HSTS sent. Without that trust every request
# would look like http and be redirected for ever (a tunnel in front of `make run`), so the
# redirect is then off unless asked for. The probes are exempt: health checks on the host ask
# over http.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", _HTTPS and SECURE_PROXY_SSL_HEADER is not None)
SECURE_REDIRECT_EXEMPT = [r"^livez$", r"^healthz$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000 if _HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", _HTTPS)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", _HTTPS)
# The dashboard reads the CSRF token from the page (forms and htmx's header), never the cookie.
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# The dashboard's CSV import: the largest file accepted (bytes).
CSV_IMPORT_MAX_BYTES = env_int("CSV_IMPORT_MAX_BYTES", 20_000_000, minimum=1_000)

LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured(f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, not {LOG_LEVEL!r}")
# Periodic work is quiet at INFO unless it did something: beat's "Sending due task" every 5 s
# and the worker's "received"/"succeeded" lines for every task are detail (DEBUG shows them);
# tasks log what they did themselves, and failures still log as errors.
_DETAIL_LEVEL = "WARNING" if LOG_LEVEL == "INFO" else LOG_LEVEL
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.server": {"level": "WARNING"},
        # The provider SDKs log every request and its headers at INFO.
        "twilio.http_client": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
        "httpx2": {"level": "WARNING"},
        "celery.beat": {"level": _DETAIL_LEVEL},
        "celery.app.trace": {"level": _DETAIL_LEVEL},
        "celery.worker.strategy": {"level": _DETAIL_LEVEL},
    },
}

# Set by `make run` only: where the worker and beat say they are up, for its banner.
RUN_DIR = env_str("LEADHUB_RUN_DIR")
