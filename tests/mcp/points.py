"""Test-only operations shaped like money movements (a refund of "points" kept in a customer's
metadata), so approvals and dry runs are proven before the wallets and payments apps land."""

from rest_framework import serializers

from accounts import selectors as account_selectors
from accounts import services as account_services
from core.errors import BusinessRefusal
from core.money import parse_amount
from core.operations import Operation, amount_value
from core.serializers import AmountInField, AmountOutField, CurrencyField


class PointsInput(serializers.Serializer):
    points_account_id = serializers.CharField(help_text="A customer id standing in for an account.")
    amount = AmountInField(required=False)
    currency = CurrencyField(required=False)


class PointsAccountInput(serializers.Serializer):
    points_account_id = serializers.CharField()


class PointsAccountOut(serializers.Serializer):
    id = serializers.CharField()
    currency = serializers.CharField()
    balance = AmountOutField()


class RefundOut(serializers.Serializer):
    id = serializers.CharField()
    amount = AmountOutField()
    currency = serializers.CharField()
    balance = AmountOutField()


def account_state(customer) -> dict:
    return {"id": customer.id, "currency": customer.metadata["currency"], "balance": int(customer.metadata["balance"])}


def get_points_account(*, actor, points_account_id):
    return account_state(account_selectors.customer_get(customer_id=points_account_id))


def refund_points(*, actor, points_account_id, amount=None, currency=None):
    state = get_points_account(actor=actor, points_account_id=points_account_id)
    minor = parse_amount(amount, state["currency"]) if amount is not None else state["balance"]
    if minor > state["balance"]:
        raise BusinessRefusal("Not enough points.", code="insufficient_funds",
                              details={"balance": state["balance"]})
    new_balance = state["balance"] - minor
    customer = account_services.customer_update(
        actor=actor, customer_id=points_account_id,
        metadata={"currency": state["currency"], "balance": new_balance})
    return {"id": customer.id, "amount": minor, "currency": state["currency"], "balance": new_balance}


def provider_refund(*, actor, **kwargs):
    raise AssertionError("a dry run must never reach the provider")


READER = Operation(name="get_points_account", title="Get points account", description="Reads points.",
                   handler=get_points_account, scope="payments:read", permission="accounts.view_customer",
                   input=PointsAccountInput, output=PointsAccountOut)
REFUND = Operation(name="zz_refund_points", title="Refund points", description="Refunds points.",
                   handler=refund_points, scope="payments:write", permission="accounts.change_customer",
                   input=PointsInput, output=RefundOut, read_only=False, destructive=True, approvable=True,
                   target="get_points_account", value=amount_value())
PROVIDER_REFUND = Operation(name="zz_provider_refund", title="Provider refund", description="Calls a provider.",
                            handler=provider_refund, scope="payments:write", input=PointsInput, output=RefundOut,
                            read_only=False, destructive=True, approvable=True, open_world=True,
                            idempotency_mode="lease", target="get_points_account", value=amount_value())
