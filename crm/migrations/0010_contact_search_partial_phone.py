"""The leads search function (crm/contacts/search.py) matches the phone column by the digits of a
partial phone number written with separators ("650-555", "(650) 555"), which the E.164 column
never contains as written. Same signature, replaced in place: its grants stay. Nothing on SQLite."""

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
    dependencies = [("crm", "0009_contact_search_one_trigram_index")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
