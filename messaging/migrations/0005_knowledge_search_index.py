"""The GIN index of knowledge retrieval on PostgreSQL: over the same expression that
messaging/brains/retrieval.py searches (to_tsvector('english', title || ' ' || content)).
SQLite has no such index; its retrieval counts words in Python."""

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import migrations

INDEX_NAME = "knowledge_search"


def _index():
    return GinIndex(SearchVector("title", "content", config="english"), name=INDEX_NAME)


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.add_index(apps.get_model("messaging", "KnowledgeDocument"), _index())


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.remove_index(apps.get_model("messaging", "KnowledgeDocument"), _index())


class Migration(migrations.Migration):
    dependencies = [("messaging", "0004_lines_outbound_inbound")]

    operations = [migrations.RunPython(create, drop)]
