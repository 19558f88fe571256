"""core.pgbackend: PostgreSQL without the `_like` index beside each indexed text column, and the migration that drops
those a database made before."""

import importlib

import pytest
from django.db import connection, connections

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

_PATTERN_INDEXES = ("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() "
                    "AND (indexdef LIKE '%%varchar_pattern_ops)' OR indexdef LIKE '%%text_pattern_ops)')")


def _pattern_indexes() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(_PATTERN_INDEXES)
        return sorted(name for (name,) in cursor.fetchall())


def _indexes(table: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s", [table])
        return sorted(name for (name,) in cursor.fetchall())


def _partial(index: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [index])
        definition = cursor.fetchone()[0]
    return definition[definition.index(" WHERE "):].strip() if " WHERE " in definition else ""


def test_a_database_migrated_with_the_backend_has_no_prefix_pattern_indexes():
    assert type(connections["default"]).__module__ == "core.pgbackend.base"
    assert _pattern_indexes() == []
    # The indexes the models ask for are all there: a payment's own, without the six `_like` ones, nor one for its
    # customer or status alone (composite indexes lead with them).
    assert _indexes("payments_payment") == [
        "payment_captured_at_idx", "payment_created_cover_idx", "payment_customer_idx",
        "payment_merchant_idx", "payment_merchant_label_idx", "payment_review_pending_idx",
        "payment_risk_decision_idx", "payment_status_auth_idx", "payment_topup_wallet_idx", "payments_payment_pkey",
        "payments_payment_provider_d6616219", "payments_payment_provider_reference_a8cd44d8"]
    # An audit event's: two are written per payment, so none that no query reads (object type with object id).
    assert _indexes("core_auditevent") == [
        "audit_action_time_idx", "audit_actor_time_idx", "audit_actor_type_time_idx", "audit_unsealed_idx",
        "core_auditevent_object_id_096dfe0c", "core_auditevent_occurred_at_06c58d2c", "core_auditevent_pkey",
        "core_auditevent_seq_key"]
    # Indexes that keep only the rows that have their column: a top-up's wallet, a REST request's route, an MCP
    # call's tool.
    assert _partial("payment_topup_wallet_idx") == "WHERE (NOT ((wallet_id)::text = ''::text))"
    assert _partial("rlog_route_idx") == "WHERE (NOT ((route)::text = ''::text))"
    assert _partial("rlog_tool_idx") == "WHERE (NOT ((tool)::text = ''::text))"
    assert _indexes("payments_paymentattempt") == ["attempt_created_idx", "attempt_payment_seq_uniq",
                                                   "payments_paymentattempt_pkey"]
    assert _indexes("mcp_gateway_toolcall") == ["mcp_gateway_toolcall_created_b2c03289", "mcp_gateway_toolcall_pkey",
                                                "mcp_toolcall_key_idx", "mcp_toolcall_tool_idx"]


def test_the_migration_drops_the_pattern_indexes_an_older_database_has():
    migration = importlib.import_module("core.migrations.0011_drop_prefix_pattern_indexes")
    with connection.cursor() as cursor:
        cursor.execute("CREATE INDEX payments_payment_status_fc8cbda2_like ON payments_payment "
                       "(status varchar_pattern_ops)")
        cursor.execute("CREATE INDEX core_event_object_id_fd65af14_like ON core_event (object_id varchar_pattern_ops)")
        # Not a `_like` index of Django's: kept.
        cursor.execute("CREATE INDEX kept_status_prefix ON payments_payment (status varchar_pattern_ops)")
    assert _pattern_indexes() == ["core_event_object_id_fd65af14_like", "kept_status_prefix",
                                  "payments_payment_status_fc8cbda2_like"]
    with connection.schema_editor() as editor:
        migration.drop_pattern_indexes(None, editor)
    assert _pattern_indexes() == ["kept_status_prefix"]
