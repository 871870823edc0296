"""event.workspace_id's own index: event_workspace_created starts with it, so it only cost an
index insertion on every event. Only the index is dropped, and made again when reversed (see
crm 0007)."""

import django.db.models.deletion
from django.db import migrations, models

from leadhub.migration_indexes import create_single_column_indexes, drop_single_column_indexes


def forwards(apps, schema_editor):
    drop_single_column_indexes(apps, schema_editor, "webhooks", [("event", "workspace_id")])



def backwards(apps, schema_editor):
    create_single_column_indexes(apps, schema_editor, "webhooks", [("event", "workspace_id")])

class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_plan_max_webhook_endpoints"),
        ("webhooks", "0003_engine_fairness_and_encrypted_secrets"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(forwards, backwards)],
            state_operations=[
                migrations.AlterField(
                    model_name="event",
                    name="workspace",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="events",
                        to="accounts.workspace",
                    ),
                ),
            ],
        )
    ]
