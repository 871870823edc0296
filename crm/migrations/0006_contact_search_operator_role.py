"""The leads search function (crm/contacts/search.py) answers an operator path only to the
operator role, as the operator policy now does (leadhub migration 0002). Nothing on SQLite."""

from django.db import migrations

from crm.contacts import search


def _schema(schema_editor) -> str:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        return cursor.fetchone()[0]


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(search.create_sql(_schema(schema_editor)))


class Migration(migrations.Migration):
    dependencies = [("crm", "0005_contact_search_function"), ("leadhub", "0002_roles_and_named_lookups")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
