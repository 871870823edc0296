"""The two roles, the operator policy for them only, and the named lookups (README "Row-level
security"; leadhub/postgresql/rls.py and lookups.py). PostgreSQL only, idempotent: run by the
owner that migrates, which must be a superuser or have CREATEROLE while a role is missing."""

from django.db import migrations


def _schema(connection) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        return cursor.fetchone()[0]


def create(apps, schema_editor):
    from leadhub.postgresql import lookups, rls

    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    for role in (rls.APP_ROLE, rls.OPERATOR_ROLE):
        schema_editor.execute(rls.role_create_sql(role))
    rls.rls_apply(connection, apps)  # the operator policy, re-made for the operator role and the owner
    for statement in lookups.create_sql(_schema(connection), (rls.APP_ROLE, rls.OPERATOR_ROLE)):
        schema_editor.execute(statement)


def drop(apps, schema_editor):
    from leadhub.postgresql import lookups

    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        for statement in lookups.drop_sql(_schema(connection)):
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("leadhub", "0001_row_level_security"),
        ("accounts", "0004_plan_max_webhook_endpoints"),
        ("api", "0003_oauth_tokens_hashed_at_rest"),
        ("booking", "0006_held_ranges_by_their_end"),
        ("campaigns", "0006_campaign_whatsapp_template"),
        ("crm", "0005_contact_search_function"),
        ("messaging", "0005_knowledge_search_index"),
        ("oauth2_provider", "0022_refreshtoken_token_family_index"),
        ("webhooks", "0003_engine_fairness_and_encrypted_secrets"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
