"""The ticket lock that orders a conversation's turns on PostgreSQL (messaging/turns.py), in
place of a session-level advisory lock held through the model call: the next ticket, the ticket
served, and the served turn's lease. The counters have a database default, so rows inserted by
code that predates them (a rolling deploy) start at 0 too."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0008_redundant_fk_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="conversation",
            name="turn_next",
            field=models.IntegerField(db_default=0, default=0, editable=False),
        ),
        migrations.AddField(
            model_name="conversation",
            name="turn_serving",
            field=models.IntegerField(db_default=0, default=0, editable=False),
        ),
        migrations.AddField(
            model_name="conversation",
            name="turn_lease_until",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
    ]
