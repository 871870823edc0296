"""The database settings from the environment (DATABASE_URL, DATABASE_CONN_MAX_AGE,
DATABASE_ROLE, DATABASE_POOL*; README "Settings"): SQLite for the embedded default, else
PostgreSQL through LeadHub's backend (leadhub/postgresql), pooled (leadhub/pool.py)."""

from pathlib import Path

import dj_database_url

from leadhub.env import env_bool, env_int, env_str, url_checked


def unpooled_conn_max_age() -> int:
    return env_int("DATABASE_CONN_MAX_AGE", 60)


def pool_options() -> dict | None:
    """Django's psycopg pool (OPTIONS "pool") per process, or None with DATABASE_POOL=false.
    Small: a worker's threads hold a connection only while they use the database (a turn gives
    it back while the model answers), and 2 cores serve no more statements at once."""
    if not env_bool("DATABASE_POOL", True):
        return None
    min_size = env_int("DATABASE_POOL_MIN_SIZE", 8, minimum=1)
    return {
        "min_size": min_size,
        "max_size": max(min_size, env_int("DATABASE_POOL_MAX_SIZE", 8, minimum=1)),
        # A request waits this long for a connection, then fails (500): a database that serves
        # nothing for so long is down for the request's client too.
        "timeout": env_int("DATABASE_POOL_TIMEOUT", 10, minimum=1),
    }


def database_from_env(var_dir: Path) -> tuple[str, dict]:
    """(DATABASE_URL, DATABASES["default"])."""
    database_url = url_checked(
        "DATABASE_URL",
        env_str("DATABASE_URL", f"sqlite:///{var_dir / 'leadhub.sqlite3'}"),
        {"sqlite", "postgres", "postgresql", "pgsql"},
    )
    default = dj_database_url.parse(
        database_url,
        conn_max_age=unpooled_conn_max_age(),
        conn_health_checks=True,
    )
    if default["ENGINE"] == "django.db.backends.sqlite3":
        var_dir.mkdir(parents=True, exist_ok=True)
        # WAL lets readers run beside the one writer, and IMMEDIATE takes the write lock when
        # a transaction starts rather than on its first write, so web, worker and beat wait
        # for each other (up to "timeout" seconds) instead of failing with "database is locked".
        default["CONN_MAX_AGE"] = 0
        default["OPTIONS"] = {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    else:
        # Server-side binding: parameters travel apart from the SQL (psycopg adapts them in binary,
        # with no quoting into the text). Client-side binding, Django's default, quoted every
        # parameter into the SQL: a fifth of a new lead's CPU time.
        default.setdefault("OPTIONS", {})["server_side_binding"] = True
        # Row-level security (leadhub/tenancy.py): this backend gives each connection the scope
        # of the request or task. DATABASE_ROLE: a role to SET after logging in (the login may be
        # the tables' owner for `migrate`; the app serves as this role, which must not be).
        default["ENGINE"] = "leadhub.postgresql"
        if env_str("DATABASE_ROLE"):
            default["OPTIONS"]["assume_role"] = env_str("DATABASE_ROLE")
            # Tests and benchmarks only, whose one privileged login plays every process: the role
            # taken while an operator path runs (leadhub/postgresql/base.py).
            if env_str("DATABASE_OPERATOR_ROLE") and env_bool("RLS_ALLOW_PRIVILEGED_LOGIN", False):
                default["OPTIONS"]["operator_role"] = env_str("DATABASE_OPERATOR_ROLE")
        # A statement run often (5 times on a connection, psycopg's default) is prepared once
        # per connection, so PostgreSQL neither parses nor plans it again: the widget's brain
        # lookup went from 0.20 to 0.05 ms of the server's CPU. Django turns psycopg's preparing off
        # unless told, for transaction-mode poolers (PgBouncer), where a prepared statement can be
        # missing on the next transaction's server connection; LeadHub connects to PostgreSQL itself.
        default["OPTIONS"].setdefault("prepare_threshold", 5)
        pool = pool_options()
        if pool is not None:
            # Django's pool: connections are kept by the pool, not by the thread (Django
            # refuses CONN_MAX_AGE with it); the pool checks one as it hands it out
            # (leadhub/postgresql/base.py: the socket, and a round trip only if it shows something).
            default["OPTIONS"]["pool"] = pool
            default["CONN_MAX_AGE"] = 0
    return database_url, default
