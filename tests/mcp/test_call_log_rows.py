"""The call's log row goes with the outcome's record (core.heldrows: an optional row); a row that fails that
statement costs the call nothing: the outcome is recorded again with the row in a savepoint of its own, whose failure
is logged (PostgreSQL: a real constraint refuses the row)."""

import logging

import pytest
from django.db import connection

from core.models import IdempotencyRecord
from mcp_gateway.models import ToolCall

from .conftest import McpClient

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


@pytest.fixture
def refused_log_rows():
    """A constraint that refuses the log row of any call with the idempotency key "refused"."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE mcp_gateway_toolcall ADD CONSTRAINT test_refused_log "
                       "CHECK (idempotency_key <> 'refused')")
    yield
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE mcp_gateway_toolcall DROP CONSTRAINT test_refused_log")


def test_a_log_row_that_fails_the_outcomes_statement_is_left_out_and_the_payment_stands(
        roles, make_key, settings, refused_log_rows, caplog):
    settings.PAYMENTS_PROVIDERS = {"sandbox": {"type": "sandbox"}}
    mcp = McpClient(make_key("*").raw_key)
    customer = mcp.ok("create_customer", {"email": "payer@example.com", "idempotency_key": "c"})["id"]
    args = {"amount": "10.00", "currency": "USD", "customer_id": customer, "payment_method": "tok_visa",
            "idempotency_key": "refused"}
    with caplog.at_level(logging.WARNING):
        payment = mcp.ok("create_payment", args)
    assert payment["status"] == "succeeded"
    record = IdempotencyRecord.objects.get(key="refused")
    assert (record.state, record.response_status, record.locked_until) == ("completed", 201, None)
    assert record.response_body["id"] == payment["id"]
    assert not ToolCall.objects.filter(idempotency_key="refused").exists()
    messages = [r.getMessage() for r in caplog.records]
    assert "a row held with the outcome failed it; recording the outcome without holding it" in messages
    assert "could not record tool call" in messages
    assert mcp.ok("create_payment", args) == payment  # replayed from the record: no second charge
    assert ToolCall.objects.filter(tool="create_payment").count() == 0  # the replay's row is refused too


def test_a_log_row_that_goes_with_the_record_is_written_once(roles, make_key, settings):
    settings.PAYMENTS_PROVIDERS = {"sandbox": {"type": "sandbox"}}
    mcp = McpClient(make_key("*").raw_key)
    customer = mcp.ok("create_customer", {"email": "payer@example.com", "idempotency_key": "c"})["id"]
    args = {"amount": "10.00", "currency": "USD", "customer_id": customer, "payment_method": "tok_visa",
            "idempotency_key": "kept"}
    payment = mcp.ok("create_payment", args)
    assert list(ToolCall.objects.filter(idempotency_key="kept").values_list("tool", "outcome")) == [
        ("create_payment", "success")]
    assert IdempotencyRecord.objects.get(key="kept").response_body["id"] == payment["id"]
