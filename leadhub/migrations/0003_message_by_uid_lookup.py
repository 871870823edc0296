"""The named lookup `message_by_uid` (a status callback that names its message in its URL, see
messaging/twilio.py status_callback_url): 0002's functions made again from lookups.py, which
CREATE OR REPLACE leaves as they are and adds the new one to, with its grants."""

from django.db import migrations


def create(apps, schema_editor):
    from leadhub.postgresql import lookups, rls

    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        schema = cursor.fetchone()[0]
    for statement in lookups.create_sql(schema, (rls.APP_ROLE, rls.OPERATOR_ROLE)):
        schema_editor.execute(statement)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS leadhub_message_by_uid(uuid)")


class Migration(migrations.Migration):
    dependencies = [("leadhub", "0002_roles_and_named_lookups"), ("messaging", "0008_redundant_fk_indexes")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
