"""The named lookups before a workspace is known, as SECURITY DEFINER functions (README
"Row-level security"; leadhub/lookups.py calls them).

Each runs as its owner (the role that migrates), with `leadhub.operator` set to its own name
for its duration: the owner is held by the operator policy like leadhub_operator (a superuser
owner is not held at all), the caller is not. So the web's role (leadhub_app) may cross
workspaces only through these, and each answers only what entering a workspace needs - a
workspace id, or for the widget's preflight the allowed origins of at most 50 brains - and only
for an exact match. `search_path` is pinned, as PostgreSQL asks of SECURITY DEFINER functions,
EXECUTE is revoked from PUBLIC and granted to the two roles of leadhub/postgresql/rls.py.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Lookup:
    arguments: str  # PostgreSQL's argument list
    returns: str  # a type, or SETOF a type
    body: str  # SQL over $1, $2...
    why: str


LOOKUPS: dict[str, Lookup] = {
    "credential_by_hash": Lookup(
        "key_hash text",
        "uuid",
        "SELECT workspace_id FROM accounts_apikey WHERE key_hash = $1 AND revoked_at IS NULL",
        "the workspace of an API key (a header, or an intake key as api_token) by its hash",
    ),
    "oauth_application_by_client_id": Lookup(
        "client_id text",
        "uuid",
        "SELECT workspace_id FROM accounts_oauthapplication WHERE client_id = $1",
        "the workspace of the OAuth application a token request or a revocation names",
    ),
    "access_token_by_checksum": Lookup(
        "checksum text",
        "uuid",
        "SELECT a.workspace_id FROM oauth2_provider_accesstoken t"
        " JOIN accounts_oauthapplication a ON a.id = t.application_id WHERE t.token_checksum = $1",
        "the workspace of the application of an OAuth access token, by the token's SHA-256",
    ),
    "brain_by_bot_id": Lookup(
        "bot_id text",
        "uuid",
        "SELECT workspace_id FROM messaging_brain WHERE bot_id = $1",
        "the public widget: the workspace of the brain of a bot_id",
    ),
    "brain_origins": Lookup(
        "pattern text",
        "SETOF jsonb",
        "SELECT allowed_origins FROM messaging_brain WHERE allowed_origins::text ILIKE $1 LIMIT 50",
        "the widget's preflight (no bot_id): the allowed origins of brains that may allow an origin",
    ),
    "line_by_number": Lookup(
        "phone_number text",
        "uuid",
        "SELECT l.workspace_id FROM crm_line l JOIN messaging_lineprovider p ON p.line_id = l.id"
        " WHERE l.phone_number = $1 AND p.verified_at IS NOT NULL ORDER BY l.id LIMIT 1",
        "an inbound SMS or call: the workspace of the verified line of the number called",
    ),
    "message_by_provider_sid": Lookup(
        "sid text",
        "uuid",
        "SELECT workspace_id FROM messaging_message WHERE provider_sid = $1 AND direction = 'outbound'"
        " AND line_id IS NOT NULL ORDER BY id LIMIT 1",
        "a message status callback: the workspace of the outbound message of a MessageSid",
    ),
    "message_by_uid": Lookup(
        "uid uuid",
        "uuid",
        "SELECT workspace_id FROM messaging_message WHERE uid = $1 AND direction = 'outbound' AND line_id IS NOT NULL",
        "a message status callback before its MessageSid is stored: the workspace of the message its URL names",
    ),
    "recipient_by_call_sid": Lookup(
        "sid text",
        "uuid",
        "SELECT r.workspace_id FROM campaigns_recipient r JOIN campaigns_campaign c ON c.id = r.campaign_id"
        " WHERE r.provider_sid = $1 AND c.channel = 'voice' ORDER BY r.id LIMIT 1",
        "a voice campaign's call status callback: the workspace of the recipient of a CallSid",
    ),
    "recipient_by_id": Lookup(
        "recipient bigint",
        "uuid",
        "SELECT r.workspace_id FROM campaigns_recipient r JOIN campaigns_campaign c ON c.id = r.campaign_id"
        " WHERE r.id = $1 AND c.channel = 'voice'",
        "a voice campaign's key press: the workspace of the recipient LeadHub put in the URL",
    ),
    "calendly_workspaces": Lookup(
        "event_type_uri text",
        "SETOF uuid",
        "SELECT DISTINCT workspace_id FROM booking_calendlyconnection WHERE event_type_uri = $1 AND enabled",
        "a Calendly webhook: the workspaces with an enabled connection for its event type",
    ),
    "memberships_of": Lookup(
        "person integer",
        "SETOF uuid",
        "SELECT workspace_id FROM accounts_membership WHERE user_id = $1",
        "the dashboard: the workspaces a person is a member of",
    ),
}

# The agency page: each workspace of an agency the person staffs, with its new and hot leads
# (counted from the covering index contact_workspace_window), failed deliveries, bookings and
# speed to lead (dashboard/selectors.py runs the same on SQLite): aggregates only, one round trip.
# $1 person, $2 agency, $3 since, $4 until, $5 the message count that makes a lead hot.
AGENCY_WORKSPACES = (
    "SELECT w.id FROM accounts_workspace w WHERE w.agency_id = $2"
    " AND EXISTS (SELECT 1 FROM accounts_agencymembership m WHERE m.agency_id = $2 AND m.user_id = $1)"
)
AGENCY_LEADS = (
    "SELECT c.workspace_id, count(c.workspace_id) AS new,"
    " count(c.workspace_id) FILTER (WHERE c.message_count >= $5) AS hot"
    " FROM crm_contact c WHERE c.workspace_id IN (SELECT id FROM ws) AND c.created_at >= $3 GROUP BY 1"
)
_AGENCY_OVERVIEW = f"""
WITH ws AS ({AGENCY_WORKSPACES}),
leads AS ({AGENCY_LEADS}),
failed AS (SELECT d.workspace_id, count(d.id) AS n FROM webhooks_delivery d
            WHERE d.workspace_id IN (SELECT id FROM ws) AND d.status = 'failed' AND d.created_at >= $3 GROUP BY 1),
bookings AS (SELECT b.workspace_id, count(b.id) AS n FROM booking_booking b
              WHERE b.workspace_id IN (SELECT id FROM ws) AND b.created_at >= $3 AND b.status <> 'cancelled'
              GROUP BY 1),
replies AS (SELECT m.workspace_id, c.id, c.created_at AS arrived, min(m.created_at) AS first_reply
              FROM messaging_message m JOIN messaging_conversation v ON v.id = m.conversation_id
              JOIN crm_contact c ON c.id = v.contact_id
             WHERE m.workspace_id IN (SELECT id FROM ws) AND m.role = 'assistant' AND m.created_at >= $3
               AND c.created_at >= $3 AND c.created_at < $4 AND m.created_at >= c.created_at
             GROUP BY 1, 2, 3),
speed AS (SELECT workspace_id, sum(first_reply - arrived) AS total, count(*) AS answered FROM replies GROUP BY 1)
SELECT ws.id, coalesce(leads.new, 0), coalesce(leads.hot, 0), coalesce(failed.n, 0), coalesce(bookings.n, 0),
       speed.total, coalesce(speed.answered, 0)
  FROM ws LEFT JOIN leads ON leads.workspace_id = ws.id LEFT JOIN failed ON failed.workspace_id = ws.id
  LEFT JOIN bookings ON bookings.workspace_id = ws.id LEFT JOIN speed ON speed.workspace_id = ws.id
"""  # noqa: S608 (constants of this module only)
LOOKUPS["agency_overview"] = Lookup(
    "person integer, agency uuid, since timestamp with time zone, until timestamp with time zone, hot integer",
    "TABLE(workspace_id uuid, new bigint, hot bigint, failed bigint, bookings bigint, speed interval, answered bigint)",
    _AGENCY_OVERVIEW,
    "the agency page: per workspace of an agency the person staffs, its counts (aggregates only)",
)

PREFIX = "leadhub_"


def function(name: str) -> str:
    return PREFIX + name


def _types(lookup: Lookup) -> str:
    return ", ".join(argument.split(" ", 1)[1] for argument in lookup.arguments.split(", "))


def create_sql(schema: str, roles: tuple[str, ...]) -> list[str]:
    statements = []
    for name, lookup in LOOKUPS.items():
        qualified = f'"{schema}".{function(name)}'
        statements += [
            f"""
CREATE OR REPLACE FUNCTION {qualified}({lookup.arguments}) RETURNS {lookup.returns}
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = "{schema}", pg_catalog, pg_temp
SET leadhub.operator = '{name}'
AS $fn$ {lookup.body} $fn$
""",
            f"REVOKE ALL ON FUNCTION {qualified}({_types(lookup)}) FROM PUBLIC",
            *(f'GRANT EXECUTE ON FUNCTION {qualified}({_types(lookup)}) TO "{role}"' for role in roles),
        ]
    return statements


def signatures() -> list[str]:
    """Each lookup's function with its argument types, for a GRANT (leadhub.postgresql.rls)."""
    return [f"{function(name)}({_types(lookup)})" for name, lookup in LOOKUPS.items()]


def drop_sql(schema: str) -> list[str]:
    return [
        f'DROP FUNCTION IF EXISTS "{schema}".{function(name)}({_types(lookup)})' for name, lookup in LOOKUPS.items()
    ]


def call(name: str) -> str:
    """The call with its parameters, for a statement of the backend."""
    lookup = LOOKUPS[name]
    parameters = ", ".join(f"%s::{type_}" for type_ in _types(lookup).split(", "))
    return f"{function(name)}({parameters})"
