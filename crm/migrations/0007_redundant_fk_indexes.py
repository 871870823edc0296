"""Three single-column foreign-key indexes that another index starts with: contact.workspace_id
(contact_workspace_created and four more), timelineentry.contact_id (timeline_contact_created)
and dailyleadcount.workspace_id (daily_lead_count_unique). Each cost PostgreSQL an index
insertion on every new lead and served no query the longer one does not.

Only the indexes are dropped: Django's AlterField would also drop and re-add the foreign key,
which validates the whole table under a lock. Reversed, the same indexes are made again, named
and defined as Django made them."""

import django.db.models.deletion
from django.db import migrations, models

from leadhub.migration_indexes import create_single_column_indexes, drop_single_column_indexes

REDUNDANT = [("contact", "workspace_id"), ("dailyleadcount", "workspace_id"), ("timelineentry", "contact_id")]


def forwards(apps, schema_editor):
    drop_single_column_indexes(apps, schema_editor, "crm", REDUNDANT)



def backwards(apps, schema_editor):
    create_single_column_indexes(apps, schema_editor, "crm", REDUNDANT)

class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_plan_max_webhook_endpoints"),
        ("crm", "0006_contact_search_operator_role"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(forwards, backwards)],
            state_operations=[
                migrations.AlterField(
                    model_name="contact",
                    name="workspace",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="contacts",
                        to="accounts.workspace",
                    ),
                ),
                migrations.AlterField(
                    model_name="dailyleadcount",
                    name="workspace",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="accounts.workspace",
                    ),
                ),
                migrations.AlterField(
                    model_name="timelineentry",
                    name="contact",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="timeline",
                        to="crm.contact",
                    ),
                ),
            ],
        )
    ]
