# Held ranges are looked up by their end (blocked_until > a window's start): the scan covers
# what is still ahead and skips a workspace's history (by their start, it covered all of it).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("booking", "0005_slot_offers")]

    operations = [
        migrations.RemoveIndex(model_name="booking", name="booking_workspace_blocked"),
        migrations.AddIndex(
            model_name="booking",
            index=models.Index(fields=["workspace", "blocked_until"], name="booking_workspace_held"),
        ),
    ]
