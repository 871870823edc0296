"""The leads search on PostgreSQL under row-level security: one SECURITY DEFINER function.

`q` (of /api/v1/contacts and of the dashboard's leads page) is a substring of name, first and
last name, e-mail, phone or company, answered by the pg_trgm index of migrations crm 0003 and
0009 over `UPPER(col::text)` of each (one multicolumn GIN index). Under row-level security
PostgreSQL may not evaluate a query's LIKE (textlike and upper are not LEAKPROOF) before the
policy, so it cannot use that index: at 1,000,000 contacts the search would read every contact
of the workspace again. The function runs the same
search as the tables' owner, where the planner may use the indexes, and applies the two policies
itself: it answers the ids of `workspace_id` only when the caller's scope could see that
workspace (its own `leadhub.workspace_id`, or an operator path, exactly as leadhub.tenancy's
policies say), so it opens nothing the caller could not read. When the owner is itself held by
row-level security (not a superuser nor BYPASSRLS), the policies apply inside too: the answer is
the same, only slower. EXECUTE plans each search with its pattern (a generic plan could not
choose the trigram indexes).

A partial phone number is found however it is written: numbers are stored in E.164 (`+` and
digits), so when `q` is only digits and the separators people write numbers with (PARTIAL_PHONE:
"650-555", "(650) 555", "+1 650"), the phone column is matched by its digits ("650555"), through
the same trigram index; the other columns by the text as written. Python (phone_digits, for
SQLite) and the function read the same rule.
"""

import re

# The columns the search reads, each a column of the trigram index contact_trgm (crm/migrations/0009).
SEARCHED = ("name", "first_name", "last_name", "email", "phone_number", "company_name")

# The separators of a written phone number, and a partial number: digits and separators, at
# least one digit (bracket expressions that Python's re and PostgreSQL's regular expressions read
# alike; no `%`, which the migrations' SQL could not hold as written).
SEPARATOR = "[-() +./]"
PARTIAL_PHONE = "[-() +./0-9]*[0-9][-() +./0-9]*"
_partial_phone = re.compile(PARTIAL_PHONE)


def phone_digits(text: str) -> str | None:
    """The digits of `text` when it is a partial phone number as people write it (PARTIAL_PHONE),
    which is how the phone column is matched; None for any other text."""
    if not _partial_phone.fullmatch(text):
        return None
    return "".join(ch for ch in text if "0" <= ch <= "9")


FUNCTION = "leadhub_contact_search"
CALL = "SELECT leadhub_contact_search(%s, %s)"  # the workspace, the LIKE pattern

# What the function runs ($1 the workspace, $2 the LIKE pattern, $3 the phone column's: the
# digits of a partial phone number, else $2); tests EXPLAIN it.
QUERY = (
    "SELECT c.id FROM crm_contact c WHERE c.workspace_id = $1 AND ("
    "UPPER(c.name::text) LIKE UPPER($2) OR UPPER(c.first_name::text) LIKE UPPER($2)"
    " OR UPPER(c.last_name::text) LIKE UPPER($2) OR UPPER(c.email::text) LIKE UPPER($2)"
    " OR UPPER(c.phone_number::text) LIKE UPPER($3) OR UPPER(c.company_name::text) LIKE UPPER($2))"
)

# The caller's scope may see the workspace: leadhub.tenancy's two policies, as they are written,
# the operator one for the operator role only (leadhub/postgresql/rls.py). Inside the function
# current_user is the owner; the caller is the role it SET (tests), else its login.
_CALLER = "(CASE WHEN current_setting('role') = 'none' THEN session_user ELSE current_setting('role') END)::name"
_VISIBLE = (
    "(workspace = NULLIF(current_setting('leadhub.workspace_id', true), '')::uuid"
    " OR (NULLIF(current_setting('leadhub.operator', true), '') IS NOT NULL"
    f" AND pg_has_role({_CALLER}, 'leadhub_operator', 'MEMBER')))"
)


def create_sql(schema: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION "{schema}".{FUNCTION}(workspace uuid, pattern text) RETURNS SETOF uuid
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = "{schema}", pg_catalog, pg_temp
AS $fn$
DECLARE
    -- A partial number between the pattern's two wildcards: its separators dropped, the digits left.
    phone_pattern text := CASE WHEN substr(pattern, 2, length(pattern) - 2) ~ '^{PARTIAL_PHONE}$'
        THEN regexp_replace(pattern, '{SEPARATOR}', '', 'g') ELSE pattern END;
BEGIN
    IF NOT coalesce({_VISIBLE}, false) THEN  -- no scope: NULL, which IF would take for false
        RETURN;
    END IF;
    RETURN QUERY EXECUTE '{QUERY}' USING workspace, pattern, phone_pattern;
END
$fn$
"""


def drop_sql(schema: str) -> str:
    return f'DROP FUNCTION IF EXISTS "{schema}".{FUNCTION}(uuid, text)'
