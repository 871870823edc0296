"""Row-level security on every tenant table (leadhub/tenancy.py; PostgreSQL only, idempotent).
Tables that later migrations add get it from the post_migrate handler (leadhub/apps.py)."""

from django.db import migrations


def enable(apps, schema_editor):
    from leadhub import tenancy
    from leadhub.postgresql import rls

    rls.rls_apply(schema_editor.connection, apps)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_plan_max_webhook_endpoints"),
        ("api", "0003_oauth_tokens_hashed_at_rest"),
        ("booking", "0005_slot_offers"),
        ("campaigns", "0002_recipient_message"),
        ("crm", "0004_contact_window_counts"),
        ("dashboard", "0001_initial"),
        ("messaging", "0005_knowledge_search_index"),
        ("webhooks", "0003_engine_fairness_and_encrypted_secrets"),
    ]

    operations = [migrations.RunPython(enable, migrations.RunPython.noop, elidable=False)]
