import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0001_initial"),
        ("messaging", "0005_knowledge_search_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="recipient",
            name="message",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="campaign_recipient",
                to="messaging.message",
            ),
        ),
    ]
