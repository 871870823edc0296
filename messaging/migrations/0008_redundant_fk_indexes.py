"""Drop the single-column indexes of foreign keys that a composite index already starts with:
messaging_message(conversation_id) and (workspace_id), messaging_conversation(contact_id) and
(workspace_id), messaging_consentchange(contact_id). Each inbound turn inserts two messages,
and each index is written by every insert; lookups and cascades use the composite ones
(message_unique_position, message_workspace_created, conversation_contact_created,
conversation_workspace_created, consent_contact_created).

Only the indexes are dropped: Django's own AlterField would also drop and re-add each foreign
key, validating every row of the table again under lock."""

import django.db.models.deletion
from django.db import migrations, models


# (table, column, the index Django named for it on PostgreSQL and SQLite alike)
_INDEXES = [
    ("messaging_consentchange", "contact_id", "messaging_consentchange_contact_id_391b5132"),
    ("messaging_conversation", "contact_id", "messaging_conversation_contact_id_0b518da6"),
    ("messaging_conversation", "workspace_id", "messaging_conversation_workspace_id_41e37aa8"),
    ("messaging_message", "conversation_id", "messaging_message_conversation_id_3db4d3d1"),
    ("messaging_message", "workspace_id", "messaging_message_workspace_id_88c47f7c"),
]


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
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{name}"',
                    reverse_sql=f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" ("{column}")',
                )
                for table, column, name in _INDEXES
            ],
        )
    ]
