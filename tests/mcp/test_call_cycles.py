"""An MCP call's input serializer and the work joined to its first transaction are freed when the call ends, not
left in reference cycles for the collector (core.serializers.release_fields; core.db's commit marker)."""

import pytest

from tests.foundation.test_request_cycles import _left_in_cycles

# Committed for real: in a test's own transaction the commit callbacks stay queued on the connection, not garbage.
pytestmark = pytest.mark.django_db(transaction=True)


def test_an_mcp_payment_leaves_neither_its_input_nor_its_joined_work_in_a_cycle(mcp, settings):
    settings.PAYMENTS_PROVIDERS = {"sandbox": {"type": "sandbox"}}
    customer_id = mcp.ok("create_customer", {"email": "payer@example.com", "idempotency_key": "c"})["id"]
    args = {"amount": "10.00", "currency": "USD", "customer_id": customer_id, "payment_method": "tok_visa",
            "metadata": {"order": "1"}}
    mcp.ok("create_payment", {**args, "idempotency_key": "warm"})
    answers = []
    left = _left_in_cycles(lambda: answers.append(mcp.ok("create_payment", {**args, "idempotency_key": "p1"})))
    assert answers[0]["status"] == "succeeded"
    assert left & {"payments.serializers.PaymentCreateInput", "rest_framework.utils.serializer_helpers.BindingDict",
                   "rest_framework.fields.DictField", "rest_framework.fields._UnvalidatedField",
                   "core.db.FirstTransactionWork"} == set()
