"""The database settings from the environment (DATABASE_URL, DATABASE_CONN_MAX_AGE,
DATABASE_ROLE; README "Settings"): SQLite for the embedded default, else PostgreSQL through
LeadHub's backend (leadhub/postgresql)."""

from pathlib import Path

import dj_database_url

from leadhub.env import env_bool, env_int, env_str, url_checked


def database_from_env(var_dir: Path) -> tuple[str, dict]:
    """(DATABASE_URL, DATABASES["default"])."""
    database_url = url_checked(
        "DATABASE_URL",
        env_str("DATABASE_URL", f"sqlite:///{var_dir / 'leadhub.sqlite3'}"),
        {"sqlite", "postgres", "postgresql", "pgsql"},
    )
    default = dj_database_url.parse(
        database_url,
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
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
    return database_url, default
