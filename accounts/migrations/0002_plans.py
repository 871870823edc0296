"""The three plans of SPEC §3."""

from django.db import migrations

PLANS = [
    # code, name, api_access, webhooks, campaigns, api_rate_per_minute, intake_rate_per_minute
    ("free", "Free", False, False, False, 120, 1000),
    ("business", "Business", True, True, False, 120, 1000),
    ("enterprise", "Enterprise", True, True, True, 600, 1000),
]


def create_plans(apps, schema_editor):
    Plan = apps.get_model("accounts", "Plan")
    for code, name, api_access, webhooks, campaigns, api_rate, intake_rate in PLANS:
        Plan.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "api_access": api_access,
                "webhooks": webhooks,
                "campaigns": campaigns,
                "api_rate_per_minute": api_rate,
                "intake_rate_per_minute": intake_rate,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [migrations.RunPython(create_plans, migrations.RunPython.noop)]
