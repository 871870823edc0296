"""The indexes of four mostly-NULL columns of crm_contact only where set: owner_id, line_id,
disposition_status_id (the foreign keys' own indexes) and session_id (contact_workspace_session).
A lead from a form has none of them, and each full index cost PostgreSQL an index insertion on
every new lead. Every query on them names a value (`owner_id IN (…)` of a deleted user's SET
NULL, `session_id = …` of the widget), which implies NOT NULL, so the partial index serves it.

The new indexes are built CONCURRENTLY on PostgreSQL, so intake keeps writing; the foreign keys themselves are left alone (Django's AlterField would drop
and re-add them, validating the whole table under a lock). Reversible: back, the full indexes
are built again under Django's names.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models import Q

from leadhub.migration_indexes import drop_single_column_indexes

FOREIGN_KEYS = ("owner", "line", "disposition_status")
NEW = [
    models.Index(fields=["owner"], condition=Q(owner__isnull=False), name="contact_owner"),
    models.Index(fields=["line"], condition=Q(line__isnull=False), name="contact_line"),
    models.Index(
        fields=["disposition_status"], condition=Q(disposition_status__isnull=False), name="contact_disposition"
    ),
]
SESSION_FULL = models.Index(fields=["workspace", "session_id"], name="contact_workspace_session")
SESSION_PARTIAL = models.Index(
    fields=["workspace", "session_id"], condition=Q(session_id__isnull=False), name="contact_workspace_session"
)
SESSION_TEMPORARY = "contact_workspace_session_new"


def _create(schema_editor, model, index: models.Index) -> None:
    sql = str(index.create_sql(model, schema_editor))
    if schema_editor.connection.vendor == "postgresql":  # built while intake keeps writing
        sql = sql.replace("CREATE INDEX", "CREATE INDEX CONCURRENTLY", 1)
    schema_editor.execute(sql)


def _drop(schema_editor, model, name: str) -> None:
    concurrently = " CONCURRENTLY" if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(f"DROP INDEX{concurrently} IF EXISTS {schema_editor.quote_name(name)}")


def _replace_session_index(schema_editor, model, index: models.Index) -> None:
    """contact_workspace_session rebuilt as `index`; on PostgreSQL under another name first and
    renamed, so that the widget's lookup has an index all along."""
    if schema_editor.connection.vendor != "postgresql":
        _drop(schema_editor, model, index.name)
        _create(schema_editor, model, index)
        return
    temporary = index.clone()
    temporary.name = SESSION_TEMPORARY
    _create(schema_editor, model, temporary)
    _drop(schema_editor, model, index.name)
    schema_editor.execute(f"ALTER INDEX {SESSION_TEMPORARY} RENAME TO {index.name}")


def forwards(apps, schema_editor):
    contact = apps.get_model("crm", "contact")
    # Dropped first: it drops every plain index on the column alone, the partial ones too.
    drop_single_column_indexes(apps, schema_editor, "crm", [("contact", f"{name}_id") for name in FOREIGN_KEYS])
    for index in NEW:
        _create(schema_editor, contact, index)
    _replace_session_index(schema_editor, contact, SESSION_PARTIAL)


def backwards(apps, schema_editor):
    contact = apps.get_model("crm", "contact")
    for name in FOREIGN_KEYS:  # the foreign keys' indexes as Django names them
        sql = str(schema_editor._create_index_sql(contact, fields=[contact._meta.get_field(name)]))
        if schema_editor.connection.vendor == "postgresql":
            sql = sql.replace("CREATE INDEX", "CREATE INDEX CONCURRENTLY", 1)
        schema_editor.execute(sql)
    _replace_session_index(schema_editor, contact, SESSION_FULL)
    for index in NEW:
        _drop(schema_editor, contact, index.name)


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("crm", "0007_redundant_fk_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(forwards, backwards)],
            state_operations=[
                migrations.RemoveIndex(model_name="contact", name="contact_workspace_session"),
                migrations.AlterField(
                    model_name="contact",
                    name="disposition_status",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        to="crm.dispositionstatus",
                    ),
                ),
                migrations.AlterField(
                    model_name="contact",
                    name="line",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="contacts",
                        to="crm.line",
                    ),
                ),
                migrations.AlterField(
                    model_name="contact",
                    name="owner",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AddIndex(model_name="contact", index=SESSION_PARTIAL),
                *(migrations.AddIndex(model_name="contact", index=index) for index in NEW),
            ],
        )
    ]
