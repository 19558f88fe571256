"""Tool calls logged before the call log masked card numbers in keys and numbers, or before a request id holding
one was refused: migrations 0005 and 0006 and `manage.py mask_tool_call_card_numbers` mask them with today's rule,
and leave every other row as it is."""

import importlib
import io

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext

from compliance import pci
from core import clock
from mcp_gateway import services
from mcp_gateway.models import ToolCall

pytestmark = pytest.mark.django_db

MIGRATION = importlib.import_module("mcp_gateway.migrations.0005_mask_card_numbers_in_tool_call_arguments")

# Arguments as the call log stored them before: keys as sent, numbers as sent.
OLD = {
    "tcl_1": {"4242424242424242": 1, "metadata": {"5555 5555 5555 4444": "x", "note": "ok"}, "wallet_id": "wal_x"},
    "tcl_3": {"amount": 4111111111111111, "metadata": {"lines": [{"ref 4242-4242-4242-4242 x": "y"},
                                                                 {"n": 5555555555554444, "ok": 12}]}},
    "tcl_5": {"list": ["fine", {"deep": {"deeper": ["4000 0566 5566 5556"]}}], "customer_id": "cus_1"},
}
MASKED = {
    "tcl_1": {"[PAN ****4242]": 1, "metadata": {"[PAN ****4444]": "x", "note": "ok"}, "wallet_id": "wal_x"},
    "tcl_3": {"amount": "[REDACTED]", "metadata": {"lines": [{"ref [PAN ****4242] x": "y"},
                                                             {"n": "[REDACTED]", "ok": 12}]}},
    "tcl_5": {"list": ["fine", {"deep": {"deeper": ["[REDACTED]"]}}], "customer_id": "cus_1"},
}
# No card number: left exactly as stored, even what today's rule would write otherwise (a secret by name).
CLEAN = {
    "tcl_2": {"wallet_id": "wal_y", "amount": "12.00", "metadata": {"order": "1234567890123", "at": 20261130}},
    "tcl_4": {"token": "stored-before-the-rule", "limit": 25, "rate": 1.5, "live": True, "none": None},
    "tcl_6": {},
}


@pytest.fixture
def old_rows():
    for pk, arguments in sorted({**OLD, **CLEAN}.items()):
        services.tool_call_record(id=pk, tool="transfer_funds", arguments=arguments, outcome="invalid_params",
                                  error_code="validation_error", duration_ms=1.0)
    return _rows()


def _rows():
    return {pk: (tool, arguments, outcome, error_code, created) for pk, tool, arguments, outcome, error_code, created
            in ToolCall.objects.values_list("pk", "tool", "arguments", "outcome", "error_code", "created")}


def _card_scan() -> pci.CheckResult:
    return {c.id: c for c in pci.registered_checks()}["no_card_numbers_in_database"].run()


def test_the_pci_scan_reports_the_old_rows(old_rows):
    result = _card_scan()
    assert result.status == pci.FAILED
    assert result.evidence.startswith("6 card number(s) found: ")
    for finding in ("tcl_1 at […4242] (…4242)", "tcl_1 at metadata.[…4444] (…4444)", "tcl_3 at amount (…1111)",
                    "tcl_3 at metadata.lines[0].[…4242] (…4242)", "tcl_3 at metadata.lines[1].n (…4444)",
                    "tcl_5 at list[1].deep.deeper[0] (…5556)"):
        assert f"mcp_gateway_toolcall.arguments id={finding}" in result.evidence


def test_the_migration_masks_keys_and_values_and_leaves_clean_rows_as_they_were(old_rows):
    MIGRATION.mask_card_numbers(apps, None)
    after = _rows()
    assert {pk: after[pk][1] for pk in OLD} == MASKED
    assert {pk: after[pk] for pk in CLEAN} == {pk: old_rows[pk] for pk in CLEAN}
    # Only the arguments change: the rest of each masked row stays.
    assert {pk: (tool, outcome, code, created) for pk, (tool, _, outcome, code, created) in after.items()} == {
        pk: (tool, outcome, code, created) for pk, (tool, _, outcome, code, created) in old_rows.items()}
    assert _card_scan().status == pci.PASSED


def test_the_command_masks_in_batches_and_a_second_run_changes_nothing(old_rows):
    out = io.StringIO()
    call_command("mask_tool_call_card_numbers", "--batch", "2", stdout=out)
    assert out.getvalue() == "3 of 6 tool call(s) masked.\n"
    masked = _rows()
    assert {pk: masked[pk][1] for pk in OLD} == MASKED
    assert {pk: masked[pk] for pk in CLEAN} == {pk: old_rows[pk] for pk in CLEAN}
    out = io.StringIO()
    call_command("mask_tool_call_card_numbers", stdout=out)
    assert out.getvalue() == "0 of 6 tool call(s) masked.\n"
    assert _rows() == masked
    assert _card_scan().status == pci.PASSED


def test_the_log_is_read_in_batches_and_only_rows_with_a_card_number_are_written():
    for i in range(5):
        services.tool_call_record(id=f"tcl_{i}", tool="t", arguments={"n": i} if i != 3 else {"n": 4242424242424242},
                                  outcome="success", duration_ms=1.0)
    with CaptureQueriesContext(connection) as queries:
        assert services.tool_call_mask_card_numbers(batch=2) == (5, 1)
    statements = [q["sql"] for q in queries.captured_queries if not q["sql"].upper().startswith(("SAVEPOINT",
                                                                                               "RELEASE"))]
    # Three batches of at most 2 rows and the empty read that ends the scan, each resuming after the last key read.
    selects = [sql for sql in statements if sql.startswith("SELECT")]
    assert len(selects) == 4 and all(sql.endswith("LIMIT 2") for sql in selects), selects
    updates = [sql for sql in statements if sql.startswith("UPDATE")]
    assert len(updates) == 1 and "tcl_3" in updates[0] and len(statements) == 5
    assert ToolCall.objects.get(pk="tcl_3").arguments == {"n": "[REDACTED]"}


@pytest.mark.django_db(transaction=True)
def test_migrating_masks_the_rows_the_previous_state_wrote():
    executor = MigrationExecutor(connection)
    executor.migrate([("mcp_gateway", "0004_api_key_index_covered")])
    before = executor.loader.project_state([("mcp_gateway", "0004_api_key_index_covered")]).apps
    OldToolCall = before.get_model("mcp_gateway", "ToolCall")
    for pk, arguments in {**OLD, **CLEAN}.items():
        OldToolCall.objects.create(id=pk, created=clock.now(), tool="transfer_funds", arguments=arguments,
                                   outcome="invalid_params", duration_ms=1.0)
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([("mcp_gateway", "0005_mask_card_numbers_in_tool_call_arguments")])
    assert dict(ToolCall.objects.values_list("pk", "arguments")) == {**MASKED, **CLEAN}


def test_request_ids_holding_a_card_number_are_masked_and_the_rest_of_the_row_kept():
    for pk, request_id, arguments in (("tcl_1", "req-4242424242424242", {"wallet_id": "wal_1"}),
                                      ("tcl_2", "req_0123456789abcdef0123", {"n": 4111111111111111}),
                                      ("tcl_3", "", {"wallet_id": "wal_3"}),
                                      ("tcl_4", "trace 5555 5555 5555 4444 end", {"n": 5555555555554444})):
        services.tool_call_record(id=pk, tool="get_wallet", arguments=arguments, outcome="success",
                                  duration_ms=1.0, request_id=request_id)
    assert _card_scan().status == pci.FAILED
    out = io.StringIO()
    call_command("mask_tool_call_card_numbers", stdout=out)
    assert out.getvalue() == "3 of 4 tool call(s) masked.\n"
    assert dict(ToolCall.objects.values_list("pk", "request_id")) == {
        "tcl_1": "req-[PAN ****4242]", "tcl_2": "req_0123456789abcdef0123", "tcl_3": "",
        "tcl_4": "trace [PAN ****4444] end"}
    assert dict(ToolCall.objects.values_list("pk", "arguments")) == {
        "tcl_1": {"wallet_id": "wal_1"}, "tcl_2": {"n": "[REDACTED]"}, "tcl_3": {"wallet_id": "wal_3"},
        "tcl_4": {"n": "[REDACTED]"}}
    assert _card_scan().status == pci.PASSED


@pytest.mark.django_db(transaction=True)
def test_migration_0006_masks_the_request_ids_that_0005_left():
    executor = MigrationExecutor(connection)
    executor.migrate([("mcp_gateway", "0005_mask_card_numbers_in_tool_call_arguments")])
    before = executor.loader.project_state([("mcp_gateway", "0005_mask_card_numbers_in_tool_call_arguments")]).apps
    before.get_model("mcp_gateway", "ToolCall").objects.create(
        id="tcl_1", created=clock.now(), tool="get_wallet", arguments={}, outcome="success", duration_ms=1.0,
        request_id="4242424242424242")
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([("mcp_gateway", "0006_mask_card_numbers_in_tool_call_request_ids")])
    assert ToolCall.objects.get().request_id == "[PAN ****4242]"
