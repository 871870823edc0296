"""Drop the single-column indexes of foreign keys that a composite index already starts with:
messaging_message(conversation_id) and (workspace_id), messaging_conversation(contact_id) and
(workspace_id), messaging_consentchange(contact_id). Each inbound turn inserts two messages,
and each index is written by every insert; lookups and cascades use the composite ones
(message_unique_position, message_workspace_created, conversation_contact_created,
conversation_workspace_created, consent_contact_created).

Only the indexes are dropped: Django's own AlterField would also drop and re-add each foreign
key, validating every row of the table again under lock. Found by their columns and made again
when reversed, as crm 0007 does (leadhub/migration_indexes.py)."""

import django.db.models.deletion
from django.db import migrations, models

from leadhub.migration_indexes import create_single_column_indexes, drop_single_column_indexes

REDUNDANT = [
    ("consentchange", "contact_id"),
    ("conversation", "contact_id"),
    ("conversation", "workspace_id"),
    ("message", "conversation_id"),
    ("message", "workspace_id"),
]


def forwards(apps, schema_editor):
    drop_single_column_indexes(apps, schema_editor, "messaging", REDUNDANT)


def backwards(apps, schema_editor):
    create_single_column_indexes(apps, schema_editor, "messaging", REDUNDANT)


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0007_knowledge_search_column"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="consentchange",
                    name="contact",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="consent_changes",
                        to="crm.contact",
                    ),
                ),
                migrations.AlterField(
                    model_name="conversation",
                    name="contact",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="conversations",
                        to="crm.contact",
                    ),
                ),
                migrations.AlterField(
                    model_name="conversation",
                    name="workspace",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="conversations",
                        to="accounts.workspace",
                    ),
                ),
                migrations.AlterField(
                    model_name="message",
                    name="conversation",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="messages",
                        to="messaging.conversation",
                    ),
                ),
                migrations.AlterField(
                    model_name="message",
                    name="workspace",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="accounts.workspace",
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(forwards, backwards)],
        )
    ]
