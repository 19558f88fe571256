import pytest

from core.context import Actor
from core.errors import ValidationFailed
from core.operations import all_operations, get_operation, invoke

pytestmark = pytest.mark.django_db

EXPECTED = {
    # name: (scope, permission, read_only)
    "create_wallet": ("wallets:write", "wallets.add_wallet", False),
    "get_wallet_balance": ("wallets:read", "wallets.view_wallet", True),
    "list_wallets": ("wallets:read", "wallets.view_wallet", True),
    "transfer_funds": ("wallets:write", "wallets.transfer_funds", False),
    "wallet_transaction_history": ("wallets:read", "wallets.view_wallet", True),
    "wallet_insights": ("wallets:read", "wallets.view_wallet", True),
    "freeze_wallet": ("wallets:write", "wallets.freeze_wallet", False),
    "unfreeze_wallet": ("wallets:write", "wallets.freeze_wallet", False),
    "close_wallet": ("wallets:write", "wallets.change_wallet", False),
    "adjust_wallet": ("wallets:write", "wallets.adjust_wallet", False),
    "convert_funds": ("wallets:write", "wallets.convert_funds", False),
    "withdraw_funds": ("wallets:write", "wallets.withdraw_funds", False),
    # Staff only (the admin's buttons): no REST route, no MCP tool.
    "set_wallet_daily_limit": ("wallets:write", "wallets.change_wallet", False),
    "reverse_journal_entry": ("wallets:write", "wallets.reverse_journalentry", False),
}
STAFF_ONLY = {"set_wallet_daily_limit", "reverse_journal_entry"}


def test_operation_table_is_the_contract():
    ours = {op.name: (op.scope, op.permission, op.read_only) for op in all_operations()
            if op.scope.startswith("wallets:") and op.name != "top_up_wallet"}
    assert ours == EXPECTED
    assert "top_up_wallet" not in ours
    assert {op.name for op in all_operations() if op.doors == {"admin"}} >= STAFF_ONLY
    assert not STAFF_ONLY & ({op.name for op in all_operations("mcp")} | {op.name for op in all_operations("rest")})
    for name in ("transfer_funds", "wallet_transaction_history"):
        fields = set(get_operation(name).input().fields)
        assert fields == {"transfer_funds": {"from_wallet_id", "to_wallet_id", "amount", "currency", "description"},
                          "wallet_transaction_history": {"wallet_id", "start_date", "end_date", "limit", "cursor",
                                                         "kind"}}[name]


def test_get_wallet_balance_by_id_or_by_customer_and_currency(make_wallet):
    wallet = make_wallet("EUR", balance=1999)
    op = get_operation("get_wallet_balance")
    actor = Actor.system("tests")
    by_id = invoke(op, actor=actor, data={"wallet_id": wallet.pk}).body
    by_pair = invoke(op, actor=actor, data={"customer_id": wallet.customer_id, "currency": "eur"}).body
    assert by_id == by_pair
    assert (by_id["balance"], by_id["available_balance"], by_id["currency"]) == ("19.99", "19.99", "EUR")
    with pytest.raises(ValidationFailed):
        invoke(op, actor=actor, data={"customer_id": wallet.customer_id})


def test_permissions_exist_for_the_roles(roles):
    from django.contrib.auth.models import Group, Permission

    codenames = set(Permission.objects.filter(content_type__app_label="wallets").values_list("codename", flat=True))
    assert {"freeze_wallet", "adjust_wallet", "transfer_funds", "convert_funds", "withdraw_funds",
            "reverse_journalentry", "topup_wallet"} <= codenames
    finance = set(Group.objects.get(name="finance").permissions.values_list("codename", flat=True))
    assert {"adjust_wallet", "reverse_journalentry", "freeze_wallet"} <= finance
    operator = set(Group.objects.get(name="operator").permissions.values_list("codename", flat=True))
    assert {"transfer_funds", "convert_funds", "withdraw_funds", "freeze_wallet"} <= operator
    assert "adjust_wallet" not in operator
