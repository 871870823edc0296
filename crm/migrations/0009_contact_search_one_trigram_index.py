"""The six trigram indexes of the leads search (0003) as one multicolumn GIN index over the same
six expressions, on PostgreSQL. A GIN index keeps its entries per column, so the search's
`UPPER(col::text) LIKE …` on each column is answered by the one index as by its own (a bitmap
scan per column, OR-ed, as before); but a new contact is one insertion into one index's pending
list instead of six (bench/contact_indexes.py measures it).

Built CONCURRENTLY before the six are dropped, so the search has an index all along. Nothing on
SQLite. Reversible: back, the six are built again.
"""

from django.db import migrations

# The columns the search reads (crm/contacts/search.py SEARCHED), in 0003's order.
SEARCHED = ("name", "first_name", "last_name", "email", "phone_number", "company_name")
INDEX = "contact_trgm"


def _columns_sql() -> str:
    # Exactly Django's icontains expression per column, as 0003 wrote it.
    return ", ".join(f'(UPPER(("{column}")::text)) gin_trgm_ops' for column in SEARCHED)


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} ON crm_contact USING gin ({_columns_sql()})"
    )
    for column in SEARCHED:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS contact_trgm_{column}")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in SEARCHED:
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS contact_trgm_{column} ON crm_contact "
            f'USING gin ((UPPER(("{column}")::text)) gin_trgm_ops)'
        )
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [("crm", "0008_contact_partial_indexes")]

    operations = [migrations.RunPython(forwards, backwards)]
