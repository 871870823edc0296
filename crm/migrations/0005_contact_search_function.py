"""The leads search as a SECURITY DEFINER function on PostgreSQL, so that under row-level
security it still uses the trigram indexes of 0003 (crm/contacts/search.py says why and how).
Nothing on SQLite."""

from django.db import migrations

from crm.contacts import search


def _schema(schema_editor) -> str:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        return cursor.fetchone()[0]


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(search.create_sql(_schema(schema_editor)))


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(search.drop_sql(_schema(schema_editor)))


class Migration(migrations.Migration):
    dependencies = [("crm", "0004_contact_window_counts")]

    operations = [migrations.RunPython(create, drop)]
