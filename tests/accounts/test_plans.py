"""The plans of SPEC §3 are always there: seeded by a migration, put back after a flush (a
transactional test's teardown, a reused test database), and never overwritten once edited."""

import pytest
from django.core.management import call_command

from accounts.models import Plan
from accounts.plans import plans_ensure
from accounts.services import workspace_create

SPEC = {
    ("free", False, False, False, 120, 1000),
    ("business", True, True, False, 120, 1000),
    ("enterprise", True, True, True, 600, 1000),
}


def _plans() -> set:
    fields = ("code", "api_access", "webhooks", "campaigns", "api_rate_per_minute", "intake_rate_per_minute")
    return set(Plan.objects.values_list(*fields))


@pytest.mark.django_db(transaction=True)
def test_a_flush_leaves_the_plans_in_place():
    # What a transactional test's teardown runs (TransactionTestCase._fixture_teardown).
    call_command("flush", interactive=False, verbosity=0, reset_sequences=False)
    assert _plans() == SPEC
    assert workspace_create(name="Acme Dental", plan_code=Plan.ENTERPRISE).plan.code == "enterprise"


def test_a_missing_plan_is_put_back_and_an_edited_one_kept(db):
    Plan.objects.filter(code=Plan.ENTERPRISE).update(api_rate_per_minute=5000)
    Plan.objects.filter(code=Plan.FREE).delete()
    plans_ensure()
    assert Plan.objects.get(code=Plan.ENTERPRISE).api_rate_per_minute == 5000
    assert Plan.objects.filter(code=Plan.FREE).values_list("api_access", "api_rate_per_minute").get() == (False, 120)
