"""Wallet input and output serializers; amounts out are decimal strings next to the currency."""

from __future__ import annotations

from rest_framework import serializers

from core.output import OutputSerializer
from core.serializers import (
    AmountInField,
    AmountOutField,
    CurrencyField,
    DateOrDateTimeField,
    DateTimeInField,
    ListQuerySerializer,
    MinorAverageOutField,
    UtcDateTimeField,
)

from .models import Wallet


class WalletSerializer(serializers.Serializer):
    """The canonical wallet object, the same in REST and MCP."""

    id = serializers.CharField(help_text="Wallet id, prefix wal_.")
    object = serializers.SerializerMethodField()
    customer_id = serializers.CharField()
    currency = serializers.CharField()
    balance = AmountOutField(source="account.balance", help_text="Posted balance.")
    available_balance = AmountOutField(source="account.available",
                                       help_text="Posted balance minus pending holds: what can be spent now.")
    status = serializers.ChoiceField(choices=Wallet.Status.choices)
    daily_limit = AmountOutField(allow_null=True, help_text="Outgoing limit per UTC day; null: none.")
    created = UtcDateTimeField()
    # The wallet's own changes and its balance's (Wallet.last_changed).
    updated = UtcDateTimeField(source="last_changed")

    def get_object(self, obj) -> str:
        return "wallet"


class EntrySerializer(OutputSerializer):
    """A journal entry seen from the operation that made it (transfer, conversion, ...)."""

    id = serializers.CharField(help_text="Journal entry id, prefix txn_.")
    object = serializers.CharField()
    kind = serializers.CharField()
    description = serializers.CharField()
    wallet_id = serializers.CharField(allow_null=True, help_text="The wallet the operation acted on (the source).")
    from_wallet_id = serializers.CharField(allow_null=True)
    to_wallet_id = serializers.CharField(allow_null=True)
    amount = AmountOutField(help_text="As requested; signed for adjustments (negative debits the wallet).")
    currency = serializers.CharField()
    to_amount = AmountOutField(currency_attr="to_currency", allow_null=True)
    to_currency = serializers.CharField(allow_null=True)
    rate = serializers.CharField(allow_null=True, help_text="Conversions: target units per source unit.")
    created = UtcDateTimeField()


class TransactionSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="Journal entry id, prefix txn_.")
    object = serializers.CharField()
    wallet_id = serializers.CharField()
    kind = serializers.CharField()
    description = serializers.CharField()
    amount = AmountOutField(help_text="Signed: negative leaves the wallet.")
    currency = serializers.CharField()
    balance_after = AmountOutField()
    counterparty = serializers.CharField(help_text="The other side: a wallet id or a ledger account type.")
    reverses = serializers.CharField(allow_null=True)
    created = UtcDateTimeField()


class _Totals(serializers.Serializer):
    incoming = AmountOutField()
    outgoing = AmountOutField()
    net = AmountOutField()
    count = serializers.IntegerField()


class _KindRow(serializers.Serializer):
    kind = serializers.CharField()
    incoming = AmountOutField()
    outgoing = AmountOutField()
    count = serializers.IntegerField()


class _CounterpartyRow(serializers.Serializer):
    counterparty = serializers.CharField()
    incoming = AmountOutField()
    outgoing = AmountOutField()
    count = serializers.IntegerField()


class _Unusual(serializers.Serializer):
    id = serializers.CharField()
    kind = serializers.CharField()
    description = serializers.CharField()
    amount = AmountOutField()
    z_score = serializers.FloatField()
    created = UtcDateTimeField()


class _Change(serializers.Serializer):
    incoming_percent = serializers.CharField(allow_null=True)
    outgoing_percent = serializers.CharField(allow_null=True)
    note = serializers.CharField()


class _AnomalyInfo(serializers.Serializer):
    enough_history = serializers.BooleanField()
    baseline_count = serializers.IntegerField()
    min_history = serializers.IntegerField()
    threshold = serializers.FloatField()
    mean = MinorAverageOutField(
        allow_null=True, help_text=("Mean of the earlier outgoing amounts: a decimal string in major units, rounded "
                                    "half up to the currency's digits; null with too little history."))
    stdev = MinorAverageOutField(
        allow_null=True, help_text=("Population standard deviation of the earlier outgoing amounts: a decimal "
                                    "string in major units, rounded half up to the currency's digits; null with "
                                    "too little history."))
    note = serializers.CharField()


class InsightsSerializer(serializers.Serializer):
    object = serializers.CharField()
    wallet_id = serializers.CharField()
    currency = serializers.CharField()
    period_start = UtcDateTimeField()
    period_end = UtcDateTimeField()
    previous_period_start = UtcDateTimeField()
    totals = _Totals()
    previous_totals = _Totals()
    change = _Change()
    by_kind = _KindRow(many=True)
    by_counterparty = _CounterpartyRow(many=True)
    unusual = _Unusual(many=True)
    anomaly_detection = _AnomalyInfo()


# --- Inputs -------------------------------------------------------------------------------


class WalletIdInput(serializers.Serializer):
    wallet_id = serializers.CharField(help_text="Wallet id (wal_...).")


class WalletCreateInput(serializers.Serializer):
    customer_id = serializers.CharField(help_text="Customer id (cus_...).")
    currency = CurrencyField()
    daily_limit = AmountInField(required=False, allow_null=True,
                                help_text="Optional outgoing limit per UTC day, in major units.")


class WalletBalanceInput(serializers.Serializer):
    wallet_id = serializers.CharField(required=False, help_text="Wallet id (wal_...); or customer_id + currency.")
    customer_id = serializers.CharField(required=False)
    currency = CurrencyField(required=False)

    def validate(self, attrs):
        if attrs.get("wallet_id"):
            return {"wallet_id": attrs["wallet_id"]}
        if attrs.get("customer_id") and attrs.get("currency"):
            return {"customer_id": attrs["customer_id"], "currency": attrs["currency"]}
        raise serializers.ValidationError({"wallet_id": ["Give wallet_id, or customer_id and currency."]})


class WalletListInput(ListQuerySerializer):
    customer_id = serializers.CharField(required=False)
    currency = CurrencyField(required=False)
    status = serializers.ChoiceField(choices=Wallet.Status.choices, required=False)
    created_gte = DateTimeInField(required=False)
    created_lte = DateTimeInField(required=False)


class WalletReasonInput(WalletIdInput):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class FreezeInput(WalletReasonInput):
    pass


class UnfreezeInput(WalletReasonInput):
    pass


class CloseInput(WalletReasonInput):
    pass


class DailyLimitInput(WalletIdInput):
    daily_limit = AmountInField(required=False, help_text="Outgoing limit per UTC day, in major units of the "
                                                          "wallet's currency; left out: no limit.")


class ReverseEntryInput(serializers.Serializer):
    entry_id = serializers.CharField(help_text="Journal entry id (txn_...).")
    reason = serializers.CharField(max_length=500, help_text="Why (mandatory, kept on the reversal and the audit).")


class AdjustInput(WalletIdInput):
    amount = AmountInField(help_text="Signed amount in major units: positive credits, negative debits.")
    reason = serializers.CharField(max_length=500, help_text="Why (mandatory, kept on the entry and the audit).")


class WithdrawInput(WalletIdInput):
    amount = AmountInField()
    description = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class TransferInput(serializers.Serializer):
    from_wallet_id = serializers.CharField()
    to_wallet_id = serializers.CharField()
    amount = AmountInField()
    currency = CurrencyField()
    description = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ConvertInput(serializers.Serializer):
    from_wallet_id = serializers.CharField()
    to_wallet_id = serializers.CharField(help_text="A wallet of the same customer in another currency.")
    amount = AmountInField(help_text="In the source wallet's currency.")
    description = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class HistoryInput(WalletIdInput, ListQuerySerializer):
    start_date = DateOrDateTimeField(help_text="Inclusive: ISO date or datetime.")
    end_date = DateOrDateTimeField(end=True, help_text="Inclusive date, or exclusive datetime.")
    kind = serializers.CharField(required=False, help_text="e.g. transfer, wallet_topup, conversion.")


class InsightsInput(WalletIdInput):
    start_date = DateOrDateTimeField(help_text="Default: 30 days before end_date.")
    end_date = DateOrDateTimeField(end=True, help_text="Default: now.")
