"""Trigram indexes for the leads search (`q` of /api/v1/contacts and of the dashboard's leads
page) on PostgreSQL: `contact_search_filter` matches a substring of name, first and last
name, e-mail, phone and company with `icontains`, which Django writes as
`UPPER("col"::text) LIKE UPPER('%…%')`. A GIN index over exactly that expression with
pg_trgm's operator class answers it (a bitmap scan per column, OR-ed) instead of reading every
contact of the workspace: 7.8 s at 1,000,000 contacts before.

Built CONCURRENTLY (the migration is not atomic), so intake keeps writing while a large table
is indexed. SQLite has neither pg_trgm nor GIN: there the search reads the table, as before.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

# The columns contact_search_filter searches with icontains (crm/contacts/selectors.py).
SEARCHED = ("name", "first_name", "last_name", "email", "phone_number", "company_name")


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in SEARCHED:
        # Exactly Django's icontains expression (UPPER(col::text)); written out because
        # OpClass() needs django.contrib.postgres installed to leave the parentheses alone.
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS contact_trgm_{column} ON crm_contact "
            f'USING gin ((UPPER(("{column}")::text)) gin_trgm_ops)'
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in SEARCHED:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS contact_trgm_{column}")


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [("crm", "0002_daily_lead_counts")]

    operations = [
        TrigramExtension(),  # a no-op on SQLite
        migrations.RunPython(create, drop),
    ]
