"""The migrations that drop redundant foreign-key indexes (crm 0007, webhooks 0004, messaging 0008) reverse: migrated
back, each index is there again under the name and definition Django gave it; migrated forward
again, it is gone."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.conftest import as_database_owner

pytestmark = pytest.mark.django_db(transaction=True)  # schema changes: outside the test's transaction

DROPPED = [
    ("crm_contact", "workspace_id"),
    ("crm_dailyleadcount", "workspace_id"),
    ("crm_timelineentry", "contact_id"),
    ("webhooks_event", "workspace_id"),
    ("messaging_consentchange", "contact_id"),
    ("messaging_conversation", "contact_id"),
    ("messaging_conversation", "workspace_id"),
    ("messaging_message", "conversation_id"),
    ("messaging_message", "workspace_id"),
]
BEFORE = [
    ("crm", "0006_contact_search_operator_role"),
    ("webhooks", "0003_engine_fairness_and_encrypted_secrets"),
    ("messaging", "0007_knowledge_search_column"),
]


def _own_indexes() -> dict:
    """(table, column) -> the names of the plain indexes on exactly that column."""
    found = {}
    with connection.cursor() as cursor:
        for table, column in DROPPED:
            constraints = connection.introspection.get_constraints(cursor, table)
            found[(table, column)] = sorted(
                name
                for name, info in constraints.items()
                if info["index"] and not info["unique"] and not info["primary_key"] and info["columns"] == [column]
            )
    return found


def _migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)


def test_the_dropped_foreign_key_indexes_come_back_when_migrated_back_and_go_again_forward():
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
    with as_database_owner():  # migrating is the tables' owner's
        assert _own_indexes() == {target: [] for target in DROPPED}
        try:
            _migrate(BEFORE)
            with connection.schema_editor() as editor:
                django_names = {
                    (table, column): [editor._create_index_name(table, [column])] for table, column in DROPPED
                }
            assert _own_indexes() == django_names
        finally:
            _migrate(leaves)
        assert _own_indexes() == {target: [] for target in DROPPED}
