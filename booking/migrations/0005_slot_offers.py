# Slots offered in a WhatsApp or SMS conversation (issue #10 item 6).

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_least_scopes_by_default"),
        ("booking", "0004_requested_bookings_can_be_cancelled"),
        ("messaging", "0005_knowledge_search_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="SlotOffer",
            fields=[
                (
                    "conversation",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="messaging.conversation",
                    ),
                ),
                (
                    "starts",
                    models.JSONField(default=list, help_text="The offered slots' starts, UTC ISO 8601, as numbered"),
                ),
                ("time_zone", models.CharField(help_text="The zone the times were written in", max_length=64)),
                ("expires_at", models.DateTimeField()),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                (
                    "workspace",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="accounts.workspace"
                    ),
                ),
            ],
        ),
    ]
