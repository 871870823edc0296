"""Knowledge retrieval on PostgreSQL reads a stored tsvector: a generated column `search` (the
same expression as 0005's index, to_tsvector('english', title || ' ' || content)) with its GIN
index, in place of 0005's index on the expression. Searching the expression computed it for
every document of the brain, two or three times a row, on every inbound message; the column is
computed once, when a document is written. The model does not declare the column (the ORM
never reads it; messaging/brains/retrieval.py queries it by name). SQLite: nothing."""

from django.db import migrations

TABLE = "messaging_knowledgedocument"
EXPRESSION = "to_tsvector('english'::regconfig, COALESCE(title, '') || ' ' || COALESCE(content, ''))"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"ALTER TABLE {TABLE} ADD COLUMN search tsvector GENERATED ALWAYS AS ({EXPRESSION}) STORED")
    schema_editor.execute("DROP INDEX IF EXISTS knowledge_search")
    schema_editor.execute(f"CREATE INDEX knowledge_search ON {TABLE} USING gin (search)")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS knowledge_search")
    schema_editor.execute(f"ALTER TABLE {TABLE} DROP COLUMN search")
    schema_editor.execute(f"CREATE INDEX knowledge_search ON {TABLE} USING gin (({EXPRESSION}))")


class Migration(migrations.Migration):
    dependencies = [("messaging", "0006_inbound_answered_at")]

    operations = [migrations.RunPython(create, drop)]
