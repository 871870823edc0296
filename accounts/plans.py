"""The three plans of SPEC §3, put back after every migrate and flush when one is missing.

Migration 0002 seeds them; a flush (a transactional test's teardown, `manage.py flush`) empties
the table and then sends post_migrate, as every migrate does, so Django's own rows (content
types, permissions) come back. The plans come back the same way: the code that reads a plan
(`workspace_create`) can rely on it, in a reused test database too. A plan that exists is left
as it is: operators change limits, and a migrate must not undo that.
"""

from django.apps import apps as global_apps

# code, name, api_access, webhooks, campaigns, api_rate_per_minute, intake_rate_per_minute
# (the same as migration 0002's, which stays as it was written).
PLANS = [
    ("free", "Free", False, False, False, 120, 1000),
    ("business", "Business", True, True, False, 120, 1000),
    ("enterprise", "Enterprise", True, True, True, 600, 1000),
]


def plans_ensure(*, apps=global_apps, using: str = "default", **kwargs) -> None:
    """Create each plan that does not exist (post_migrate's handler; `apps`: the migrated state)."""
    try:
        Plan = apps.get_model("accounts", "Plan")
    except LookupError:  # accounts migrated back past its first migration
        return
    for code, name, api_access, webhooks, campaigns, api_rate, intake_rate in PLANS:
        Plan.objects.using(using).get_or_create(
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
