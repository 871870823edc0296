"""Row-level security in PostgreSQL's own terms: which tables are tenant (and child) tables, their
policies, and the role the app may serve as (README "Security: row-level security"). The scopes
the policies read are chosen in code by leadhub.tenancy."""

from leadhub.tenancy import TENANT_COLUMN

# --- The tables and their policies (PostgreSQL) -----------------------------------------------

POLICY_TENANT = "leadhub_tenant"
POLICY_OPERATOR = "leadhub_operator"
_TENANT_RULE = "workspace_id = NULLIF(current_setting('leadhub.workspace_id', true), '')::uuid"
_OPERATOR_RULE = "NULLIF(current_setting('leadhub.operator', true), '') IS NOT NULL"

# The roles (README "Row-level security"). The web serves as APP_ROLE: the tenant policy only,
# so setting `leadhub.operator` does nothing for it, and it crosses workspaces only through the
# named lookups (leadhub/postgresql/lookups.py). The processes that must cross them (worker,
# beat, the admin, management commands) log in as OPERATOR_ROLE, to which - and to the tables'
# owner, that the lookups run as - the operator policy applies. Neither owns a table, is a
# superuser or has BYPASSRLS.
APP_ROLE = "leadhub_app"
OPERATOR_ROLE = "leadhub_operator"

# Tables with a workspace_id that are deliberately not tenant tables: none today. A table
# listed here needs its reason beside it (README "Row-level security").
EXCLUDED_TABLES: dict[str, str] = {}


def tenant_tables(apps=None) -> list[str]:
    """Every concrete model's table with a `workspace` foreign key to accounts.Workspace, from
    the app registry (or a migration's historical one), minus EXCLUDED_TABLES."""
    if apps is None:
        from django.apps import apps
    tables = set()
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if meta.abstract or meta.proxy or not meta.managed:
            continue
        field = next((f for f in meta.concrete_fields if f.name == "workspace"), None)
        remote = getattr(field, "related_model", None)
        if remote is None or not field.concrete or field.column != TENANT_COLUMN:
            continue
        if remote._meta.label_lower != "accounts.workspace":
            continue
        if meta.db_table not in EXCLUDED_TABLES:
            tables.add(meta.db_table)
    return sorted(tables)


POLICY_PARENT = "leadhub_parent"

# Tables that are neither tenant tables nor hold a tenant table's rows: each with why.
GLOBAL_TABLES: dict[str, str] = {
    "accounts_workspace": "the tenants themselves, found by the id a credential or a membership names",
    "accounts_agency": "an agency owns workspaces; its staff see their agency's workspaces",
    "accounts_agencymembership": "who staffs an agency (the dashboard's agency page)",
    "accounts_plan": "the plans, the same for everyone",
    "auth_user": "people, who may belong to several workspaces",
    "auth_group": "Django's permissions (operators)",
    "auth_group_permissions": "Django's permissions (operators)",
    "auth_permission": "Django's permissions (operators)",
    "auth_user_groups": "Django's permissions (operators)",
    "auth_user_user_permissions": "Django's permissions (operators)",
    "django_admin_log": "the operators' admin history (superusers only)",
    "django_content_type": "Django's model registry",
    "django_migrations": "the schema's history",
    "django_session": "log-in sessions, found by their random key",
    "oauth2_provider_devicegrant": "django-oauth-toolkit's device grants: not offered (client credentials only), empty",
}


def child_tables(apps=None) -> dict[str, list[tuple[str, str, str, bool]]]:
    """Tables without a workspace_id of their own that hold a tenant table's rows (a sequence's
    steps, a delivery's attempts, the contacts-tags links, an OAuth application's tokens...):
    table -> [(column, parent table, parent key column, nullable)] for each foreign key to a
    tenant table. Their policy (leadhub_parent) shows a row when every parent it names is
    visible under the parents' own policies."""
    if apps is None:
        from django.apps import apps
    tenants = set(tenant_tables(apps))
    children: dict[str, list[tuple[str, str, str, bool]]] = {}
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if meta.abstract or meta.proxy or not meta.managed or meta.db_table in tenants:
            continue
        parents = [
            (field.column, field.related_model._meta.db_table, field.target_field.column, field.null)
            for field in meta.concrete_fields
            if (field.many_to_one or field.one_to_one) and field.related_model._meta.db_table in tenants
        ]
        if parents:
            children[meta.db_table] = sorted(parents)
    return children


def _parent_rule(qn, table: str, parents: list[tuple[str, str, str, bool]]) -> str:
    each = []
    for column, parent, key, nullable in parents:
        visible = f"EXISTS (SELECT 1 FROM {qn(parent)} p WHERE p.{qn(key)} = {qn(table)}.{qn(column)})"  # noqa: S608 (names from the model registry, quoted)
        each.append(f"({qn(table)}.{qn(column)} IS NULL OR {visible})" if nullable else visible)
    # At least one parent: a row that names none belongs to no workspace and is seen by none.
    each.append("(" + " OR ".join(f"{qn(table)}.{qn(column)} IS NOT NULL" for column, *_ in parents) + ")")
    return " AND ".join(each)


def rls_missing(
    connection, tables: list[str], policies: tuple[str, ...] = (POLICY_TENANT, POLICY_OPERATOR)
) -> list[str]:
    """The tables of `tables` that exist and lack ENABLE, FORCE or one of `policies`."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname
              FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.relname = ANY(%s)
               AND NOT (c.relrowsecurity AND c.relforcerowsecurity
                        AND (SELECT count(*) FROM pg_policy p
                              WHERE p.polrelid = c.oid AND p.polname = ANY(%s)
                                -- the operator policy applies to named roles, never to PUBLIC (0)
                                AND NOT (p.polname = %s AND 0 = ANY(p.polroles))) = %s)
            """,
            [tables, list(policies), POLICY_OPERATOR, len(policies)],
        )
        return sorted(row[0] for row in cursor.fetchall())


def rls_apply(connection, apps=None) -> list[str]:
    """ENABLE + FORCE row-level security and the two policies on every tenant table, and the
    parent policy on every child table, that lacks them (idempotent: a table already done is not
    touched, so a role that does not own the tables may run it, as the test database's flush
    does). PostgreSQL only; answers the tables changed."""
    if connection.vendor != "postgresql":
        return []
    missing = rls_missing(connection, tenant_tables(apps))
    children = child_tables(apps)
    missing_children = rls_missing(connection, sorted(children), (POLICY_PARENT,))
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        if missing:
            cursor.execute(role_create_sql(OPERATOR_ROLE))
        for table in missing + missing_children:
            cursor.execute(f"ALTER TABLE {qn(table)} ENABLE ROW LEVEL SECURITY")
            cursor.execute(f"ALTER TABLE {qn(table)} FORCE ROW LEVEL SECURITY")
        for table in missing:
            for name, rule, roles in (
                (POLICY_TENANT, _TENANT_RULE, "PUBLIC"),
                # The owner (CURRENT_USER: the role that migrates) for the named lookups it runs.
                (POLICY_OPERATOR, _OPERATOR_RULE, f"{qn(OPERATOR_ROLE)}, CURRENT_USER"),
            ):
                cursor.execute(f"DROP POLICY IF EXISTS {qn(name)} ON {qn(table)}")
                cursor.execute(f"CREATE POLICY {qn(name)} ON {qn(table)} TO {roles} USING ({rule}) WITH CHECK ({rule})")
        for table in missing_children:
            rule = _parent_rule(qn, table, children[table])
            cursor.execute(f"DROP POLICY IF EXISTS {qn(POLICY_PARENT)} ON {qn(table)}")
            cursor.execute(f"CREATE POLICY {qn(POLICY_PARENT)} ON {qn(table)} USING ({rule}) WITH CHECK ({rule})")
    return missing + missing_children


def post_migrate_rls(sender, using="default", apps=None, **kwargs) -> None:
    """post_migrate: tables added by later migrations get their policies too."""
    from django.db import connections

    rls_apply(connections[using], apps)


# --- The role the app connects as --------------------------------------------------------------


# The role asked about: the login (session_user) when the parameter is true, else current_user.
_ROLE = (
    "SELECT rolname, rolsuper, rolbypassrls FROM pg_roles"
    " WHERE rolname = (CASE WHEN %s THEN session_user ELSE current_user END)"
)


def _privileges(cursor, *, login: bool, tables: list[str]) -> list[str]:
    """What of the current role (or of the login) voids row-level security."""
    cursor.execute(_ROLE, [login])
    user, superuser, bypass = cursor.fetchone()
    found = []
    if superuser:
        found.append(f"the database role {user} is a superuser")
    if bypass:
        found.append(f"the database role {user} has BYPASSRLS")
    # A role it may SET ROLE to (MEMBER, inherited or not) counts as its own.
    cursor.execute(
        "SELECT rolname FROM pg_roles WHERE (rolsuper OR rolbypassrls) AND rolname <> %s"
        " AND pg_has_role(%s, oid, 'MEMBER') ORDER BY 1 LIMIT 3",
        [user, user],
    )
    found += [f"the database role {user} may become {row[0]}, which bypasses it" for row in cursor.fetchall()]
    cursor.execute(
        """
        SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = current_schema() AND c.relname = ANY(%s)
           AND pg_has_role(%s, c.relowner, 'MEMBER')
         ORDER BY 1 LIMIT 3
        """,
        [tables, user],
    )
    owned = [row[0] for row in cursor.fetchall()]
    if owned:
        found.append(f"the database role {user} owns tenant tables ({', '.join(owned)}...)")
    return found


def _operator_capable(cursor, *, login: bool) -> list[str]:
    """The role (or the login) is, or may become, the operator role: web without the admin
    never needs it."""
    cursor.execute(
        "SELECT rolname FROM pg_roles WHERE rolname = (CASE WHEN %s THEN session_user ELSE current_user END)"
        " AND pg_has_role(rolname, (SELECT oid FROM pg_roles WHERE rolname = %s), 'MEMBER')",
        [login, OPERATOR_ROLE],
    )
    return [
        f"the database role {row[0]} may take the operator paths ({OPERATOR_ROLE}), which web without "
        f"the admin (ADMIN_ENABLED=false) never needs: log in as {APP_ROLE}"
        for row in cursor.fetchall()
    ]


def role_problems(connection, *, tenant_only: bool = False) -> list[str]:
    """Why the connection's role would void row-level security: a superuser or BYPASSRLS role
    sees every row, and a table's owner may disable it; a role it may become counts as its own.
    The login (session_user) is held to the same when the app takes another role
    (DATABASE_ROLE): any statement can RESET ROLE. Only tests and benchmarks, whose login
    created the database, may allow that (RLS_ALLOW_PRIVILEGED_LOGIN). `tenant_only` (web
    without the admin): the role may not be, nor become, the operator role either. Empty when it
    is safe (and on SQLite)."""
    from django.conf import settings

    if connection.vendor != "postgresql":
        return []
    tables = tenant_tables()
    with connection.cursor() as cursor:
        problems = _privileges(cursor, login=False, tables=tables)
        cursor.execute("SELECT session_user <> current_user")
        login_too = cursor.fetchone()[0] and not getattr(settings, "RLS_ALLOW_PRIVILEGED_LOGIN", False)
        if tenant_only:
            problems += _operator_capable(cursor, login=False)
        if login_too:
            login_problems = _privileges(cursor, login=True, tables=tables)
            if tenant_only:  # one injected RESET ROLE would give the login's operator paths
                login_problems += _operator_capable(cursor, login=True)
            problems += [f"the login: {problem}" for problem in login_problems]
    missing = rls_missing(connection, tables) + rls_missing(connection, sorted(child_tables()), (POLICY_PARENT,))
    if missing:
        problems.append(f"tenant tables without row-level security: {', '.join(missing[:3])}...")
    return problems


def role_check(connection=None, *, tenant_only: bool = False) -> None:
    """Refuse to serve (web, worker, beat) on a role that would void row-level security."""
    from django.core.exceptions import ImproperlyConfigured

    if connection is None:
        from django.db import connection
    problems = role_problems(connection, tenant_only=tenant_only)
    if problems:
        raise ImproperlyConfigured(
            "Row-level security would not hold: "
            + "; ".join(problems)
            + ". Serve as a role that is not a superuser, has no BYPASSRLS and owns no table "
            "(README: Row-level security); run migrate as the owner."
        )


ROLE_CHECK_DEADLINE_SECONDS = 30


def role_check_at_start(deadline: float = ROLE_CHECK_DEADLINE_SECONDS, *, tenant_only: bool = False) -> None:
    """Start-up (leadhub.wsgi, the Celery worker and beat): refuse a role that would void
    row-level security. A database that does not answer is waited for, up to `deadline`
    seconds; a process that could not check refuses too (its supervisor starts it again), so
    nothing ever serves unchecked."""
    import logging
    import time

    from django.core.exceptions import ImproperlyConfigured
    from django.db import Error, connection

    give_up = time.monotonic() + deadline
    try:
        while True:
            try:
                role_check(connection, tenant_only=tenant_only)
                return
            except Error as exc:
                connection.close()
                if time.monotonic() >= give_up:
                    raise ImproperlyConfigured(
                        f"Row-level security: the database role could not be checked in {deadline:.0f} s: {exc}"
                    ) from exc
                logging.getLogger(__name__).warning("row-level security: waiting for the database: %s", exc)
                time.sleep(1)
    finally:
        connection.close()  # not inherited by forked workers


def role_create_sql(role: str) -> str:
    """Create `role` NOLOGIN (NOSUPERUSER, NOBYPASSRLS) unless it exists. The roles are the
    cluster's, shared by every database on it: two runs creating it at once are both fine."""
    literal = role.replace("'", "''")
    name = '"' + role.replace('"', '""') + '"'
    return (
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{literal}') THEN "
        f"CREATE ROLE {name} NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE; END IF; "
        "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
    )


# crm/contacts/search.py's SECURITY DEFINER function (leadhub imports no domain app).
CONTACT_SEARCH_SIGNATURE = "leadhub_contact_search(uuid, text)"


def app_role_grant(connection, role: str, password: str | None = None) -> None:
    """The role the app serves as: created NOLOGIN (NOSUPERUSER, NOBYPASSRLS) unless it exists
    (with a password: created, or kept, LOGIN with that password - docker-compose's migrate
    gives POSTGRES_APP_PASSWORD), and granted the data
    of every table and sequence of the schema, today's and - made by the role running this,
    the owner that migrates - tomorrow's: SELECT, INSERT, UPDATE, DELETE, never TRUNCATE (to which
    row-level security does not apply: one injected statement would empty every workspace's
    table). Idempotent; run as the tables' owner after migrate (`manage.py approle`)."""
    if connection.vendor != "postgresql":
        return
    from psycopg import sql

    from leadhub.postgresql import lookups

    name = sql.Identifier(role)
    statements = [
        sql.SQL(role_create_sql(role)),
        sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(name),
        # Functions are granted by name, never ALL FUNCTIONS: an operator-only function made
        # later must not reach the web's role on the next deploy. None is PUBLIC's by default.
        sql.SQL("ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC"),
        *(
            sql.SQL("GRANT EXECUTE ON FUNCTION {} TO {}").format(sql.SQL(signature), name)
            for signature in lookups.signatures()
        ),
        # The leads search (crm/contacts/search.py, made by crm's migrations), when it exists.
        sql.SQL(
            "DO $$ BEGIN IF to_regprocedure({signature}) IS NOT NULL THEN "
            "REVOKE ALL ON FUNCTION {function} FROM PUBLIC; GRANT EXECUTE ON FUNCTION {function} TO {name}; "
            "END IF; END $$"
        ).format(
            signature=sql.Literal(CONTACT_SEARCH_SIGNATURE), function=sql.SQL(CONTACT_SEARCH_SIGNATURE), name=name
        ),
        sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}").format(name),
        sql.SQL("GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {}").format(name),
        sql.SQL(
            "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {}"
        ).format(name),
        sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {}").format(
            name
        ),
    ]
    if password:
        statements.insert(1, sql.SQL("ALTER ROLE {} LOGIN PASSWORD {}").format(name, sql.Literal(password)))
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement.as_string(connection.connection))
        # A login that is not a superuser may SET ROLE (DATABASE_ROLE) only to a role it is in.
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if not cursor.fetchone()[0]:
            cursor.execute(sql.SQL("GRANT {} TO CURRENT_USER").format(name).as_string(connection.connection))
