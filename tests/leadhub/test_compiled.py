"""leadhub/compiled.py: a query compiled once gives what the ORM gives, in one statement, and sees
every change at once (it keeps SQL, never rows)."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.models.functions import Upper
from django.test.utils import CaptureQueriesContext

from accounts.models import Workspace
from booking.availability.selectors import calendars_get
from booking.models import AvailabilityRules, CalendlyConnection
from leadhub.compiled import CompiledQuery
from messaging.brains.services import brain_create
from messaging.models import Brain
from messaging.widget.selectors import brain_get_by_bot_id


def _values(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields}


@pytest.fixture
def brain(workspace_a):
    brain = brain_create(workspace=workspace_a, name="Front desk")
    brain.allowed_origins = ["https://acme.example"]
    brain.save(update_fields=["allowed_origins"])
    return brain


def test_brain_by_bot_id_is_the_orms_brain_with_its_workspace_in_one_query(brain, workspace_a):
    expected = Brain.objects.select_related("workspace").get(bot_id=brain.bot_id)
    brain_get_by_bot_id(bot_id=brain.bot_id)  # compiled on the first call
    with CaptureQueriesContext(connection) as queries:
        found = brain_get_by_bot_id(bot_id=brain.bot_id)
        workspace_values = _values(found.workspace)
    assert len(queries) == 1
    assert _values(found) == _values(expected)
    assert found.allowed_origins == ["https://acme.example"]  # the JSON column converted
    assert workspace_values == _values(expected.workspace)
    assert found._state.adding is False and found._state.db == "default"


def test_a_missing_bot_id_is_none(brain):
    assert brain_get_by_bot_id(bot_id=brain.bot_id) is not None
    assert brain_get_by_bot_id(bot_id="bot_nobody") is None


def test_a_change_shows_on_the_next_lookup(brain):
    assert brain_get_by_bot_id(bot_id=brain.bot_id).allowed_origins == ["https://acme.example"]
    Brain.objects.filter(pk=brain.pk).update(allowed_origins=["https://other.example"])
    assert brain_get_by_bot_id(bot_id=brain.bot_id).allowed_origins == ["https://other.example"]


def test_calendars_give_the_rules_and_only_an_enabled_calendly(workspace_a, workspace_b):
    assert calendars_get(workspace=workspace_a) == (None, None)
    rules = AvailabilityRules.objects.create(
        workspace=workspace_a, timezone="Australia/Sydney", weekly={"mon": [["09:00", "12:00"]]}
    )
    connection_row = CalendlyConnection.objects.create(
        workspace=workspace_a, token="secret-token", event_type_uri="https://api.calendly.com/event_types/X"
    )
    found_rules, found_connection = calendars_get(workspace=workspace_a)
    assert _values(found_rules) == _values(rules)
    assert found_rules.weekly == {"mon": [["09:00", "12:00"]]}
    assert found_connection.token == "secret-token"  # decrypted by the field's converter
    assert calendars_get(workspace=workspace_b) == (None, None)  # another workspace's rows stay its own

    CalendlyConnection.objects.filter(pk=connection_row.pk).update(enabled=False)
    AvailabilityRules.objects.filter(pk=rules.pk).update(slot_minutes=45)
    found_rules, found_connection = calendars_get(workspace=workspace_a)
    assert found_connection is None
    assert found_rules.slot_minutes == 45


def test_a_query_with_other_parameters_is_refused(workspace_a):
    query = CompiledQuery(
        lambda name: Workspace.objects.filter(name=name, country="US"), Workspace._meta.get_field("name")
    )
    with pytest.raises(ImproperlyConfigured, match="parameters"):
        query.first(workspace_a.name)


def test_an_annotation_is_set_on_each_instance_as_the_orm_sets_it(brain, workspace_a):
    def build(workspace_id):
        return Brain.objects.filter(workspace_id=workspace_id).annotate(label=Upper("name"))

    query = CompiledQuery(build, Brain._meta.get_field("workspace"))
    query.all(workspace_a.pk)  # compiled
    assert [b.label for b in query.all(workspace_a.pk)] == [b.label for b in build(workspace_a.pk)] == ["FRONT DESK"]
