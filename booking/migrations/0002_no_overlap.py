"""On PostgreSQL, no two held time ranges of a workspace overlap: an exclusion constraint.

[blocked_from, blocked_until) is a booking's start to its end plus its buffer. Requested
bookings (no time) and cancelled ones hold nothing, so they are left out of the constraint.
btree_gist lets the same GiST index compare workspace_id with `=`. SQLite has no exclusion
constraints: booking_create checks inside its IMMEDIATE transaction there.
"""

from django.db import migrations

CONSTRAINT = "booking_no_overlap"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    schema_editor.execute(
        f"ALTER TABLE booking_booking ADD CONSTRAINT {CONSTRAINT} EXCLUDE USING gist ("
        "workspace_id WITH =, tstzrange(blocked_from, blocked_until, '[)') WITH &&"
        ") WHERE (status = 'confirmed' AND blocked_from IS NOT NULL)"
    )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"ALTER TABLE booking_booking DROP CONSTRAINT IF EXISTS {CONSTRAINT}")


class Migration(migrations.Migration):
    dependencies = [("booking", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
