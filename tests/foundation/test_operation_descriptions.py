"""An operation's description says "Errors:" once, however it was assembled: OpenAPI and the MCP tools read it."""

import pytest
import yaml

from core.operations import Operation, all_operations, get_operation

TRANSFER_ERRORS = ("Errors: insufficient_funds, currency_mismatch, wallet_frozen, limit_exceeded, kyc_required, "
                   "not_found, validation_error, invalid_amount, amount_too_precise, amount_not_positive.")
ADJUST_ERRORS = ("Errors: insufficient_funds, wallet_frozen (closed), not_found, validation_error, invalid_amount, "
                 "amount_too_precise, amount_not_positive.")


def test_a_description_with_two_errors_lists_is_refused_at_registration():
    with pytest.raises(ValueError, match="x: the description has more than one 'Errors:' list"):
        Operation(name="x", title="X", description="Does X. Errors: a, Errors: b.", handler=print, scope="x:read")
    assert Operation(name="y", title="Y", description="Does Y. Errors: a, b.", handler=print,
                     scope="y:read").description == "Does Y. Errors: a, b."


def test_every_operation_says_errors_once():
    assert [op.name for op in all_operations() if op.description.count("Errors:") > 1] == []
    assert get_operation("transfer_funds").description.endswith("under lock. " + TRANSFER_ERRORS)
    assert get_operation("adjust_wallet").description.endswith("reason is mandatory. " + ADJUST_ERRORS)


@pytest.mark.django_db
def test_openapi_describes_transfer_and_adjust_with_one_errors_list(client):
    schema = yaml.safe_load(client.get("/api/schema/").content)
    described = {op["operationId"]: op["description"] for path in schema["paths"].values()
                 for op in path.values() if isinstance(op, dict) and "operationId" in op}
    assert described["transfer_funds"].endswith(TRANSFER_ERRORS)
    assert described["adjust_wallet"].endswith(ADJUST_ERRORS)

