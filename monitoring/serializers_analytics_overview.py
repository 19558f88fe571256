"""Inputs and outputs of `get_dashboard_metrics` (the overview's tiles) and `get_payment_metrics`."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from core.serializers import AmountOutField, CurrencyField, DateInField, UtcDateTimeField

from .dashboards.period import parse_period
from .serializers_analytics import RATE as _RATE
from .serializers_analytics import AnalyticsPeriodInput


def _rate(**kwargs: Any) -> serializers.DecimalField:
    kwargs["help_text"] = f"{kwargs['help_text']} {_RATE}" if "help_text" in kwargs else _RATE
    return serializers.DecimalField(max_digits=5, decimal_places=4, allow_null=True, **kwargs)


def _dates(fields: dict[str, Any]) -> dict[str, Any]:
    # `from` is a Python keyword: the dates are declared in get_fields.
    fields["from"] = serializers.DateField(help_text="First day (UTC).")
    fields["to"] = serializers.DateField(help_text="Last day, inclusive (UTC).")
    return fields


class DashboardInput(serializers.Serializer[Any]):
    """The windows end on `to` (default today, UTC); `currency` keeps one currency."""

    to = DateInField(required=False, help_text="Last day of every window, inclusive (YYYY-MM-DD, UTC); default today.")
    currency = CurrencyField(required=False, help_text="Only this currency (ISO 4217, any case).")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        day = attrs.pop("to", None)
        attrs["period"] = parse_period(
            {"to": day.isoformat() if day else "", "currency": attrs.pop("currency", "") or ""}, default_days=1
        )
        return attrs


class PaymentMetricsInput(AnalyticsPeriodInput):
    """`from`/`to` (UTC days, `to` inclusive; default the last 30 days) and `currency`, as on the admin page."""


class TileSerializer(serializers.Serializer[Any]):
    key = serializers.CharField(help_text="Stable key, e.g. gross_7d_eur, success_rate_30d, review_queue.")
    kind = serializers.ChoiceField(choices=["int", "money", "rate"])
    currency = serializers.CharField(allow_null=True, help_text="Money tiles: the amount's currency.")
    value = serializers.CharField(
        allow_null=True,
        help_text=(
            "Money: a decimal string in `currency`; rate: a decimal fraction (4 places); int: an integer as a string; "
            "null when there is nothing to show (a rate without payments, no health check yet)."
        ),
    )
    previous = serializers.CharField(
        allow_null=True,
        help_text="The same measure over the previous window (states: at the window's start); null if unknown.",
    )
    change = serializers.CharField(
        allow_null=True,
        help_text=(
            "Rates: value - previous (a fraction; 0.0500 is +5 points). Counts and money: (value - previous) / "
            "previous as a fraction (4 places). Null without a previous value or when it is zero."
        ),
    )
    url = serializers.CharField(allow_null=True, help_text="The admin page or changelist the tile links to.")

    def get_fields(self) -> dict[str, Any]:
        # `label` would shadow Field.label: declared here.
        fields = super().get_fields()
        fields["label"] = serializers.CharField(help_text="The tile's name for people.")
        return fields


class WindowSerializer(serializers.Serializer[Any]):
    window = serializers.ChoiceField(choices=["today", "7d", "30d"])
    title = serializers.CharField()
    tiles = TileSerializer(many=True)

    def get_fields(self) -> dict[str, Any]:
        fields = _dates(super().get_fields())
        fields["previous_from"] = serializers.DateField(help_text="First day of the previous window.")
        fields["previous_to"] = serializers.DateField(help_text="Last day of the previous window, inclusive.")
        return fields


class DashboardMetricsSerializer(serializers.Serializer[Any]):
    object = serializers.CharField(help_text="dashboard_metrics")
    as_of = UtcDateTimeField(help_text="The instant states (subscriptions, MRR, alerts) are read at.")
    to = serializers.DateField(help_text="Last day of every window (UTC).")
    currency = serializers.CharField(allow_null=True)
    windows = WindowSerializer(many=True)


class TotalsSerializer(serializers.Serializer[Any]):
    succeeded = serializers.IntegerField()
    failed = serializers.IntegerField()
    success_rate = _rate(source="rate")
    previous_succeeded = serializers.IntegerField()
    previous_failed = serializers.IntegerField()
    previous_success_rate = _rate(source="previous_rate")


class DayRateSerializer(serializers.Serializer[Any]):
    day = serializers.CharField(help_text="YYYY-MM-DD (UTC).")
    succeeded = serializers.IntegerField()
    failed = serializers.IntegerField()
    success_rate = _rate()


class DeclineReasonSerializer(serializers.Serializer[Any]):
    code = serializers.CharField(help_text="The payment's failure_code; unspecified when the provider gave none.")
    payments = serializers.IntegerField()
    share = _rate()


class ProviderSerializer(serializers.Serializer[Any]):
    provider = serializers.CharField()
    attempts = serializers.IntegerField()
    successes = serializers.IntegerField(help_text="Attempts authorised or captured.")
    declined = serializers.IntegerField()
    unreachable = serializers.IntegerField()
    success_rate = _rate()
    share = _rate(help_text="Routing share: this provider's attempts / all attempts.")


class LatencySerializer(serializers.Serializer[Any]):
    provider = serializers.CharField()
    attempts = serializers.IntegerField(help_text="Attempts with a recorded latency.")
    p50_ms = serializers.DecimalField(max_digits=12, decimal_places=1, allow_null=True)
    p95_ms = serializers.DecimalField(max_digits=12, decimal_places=1, allow_null=True)


class RefundRateSerializer(serializers.Serializer[Any]):
    currency = serializers.CharField()
    payments = serializers.IntegerField(help_text="Payments of the period that captured money.")
    refunded_payments = serializers.IntegerField(help_text="Of those, payments with any refund.")
    captured = AmountOutField()
    refunded = AmountOutField()
    amount_rate = _rate(help_text="Refunded amount / captured amount.")
    count_rate = _rate(help_text="Refunded payments / payments.")


class PaymentMetricsSerializer(serializers.Serializer[Any]):
    object = serializers.CharField(help_text="payment_metrics")
    currency = serializers.CharField(allow_null=True)
    totals = TotalsSerializer()
    by_day = DayRateSerializer(many=True)
    decline_reasons = DeclineReasonSerializer(many=True)
    providers = ProviderSerializer(many=True)
    latency = LatencySerializer(many=True)
    refunds = RefundRateSerializer(many=True)

    def get_fields(self) -> dict[str, Any]:
        return _dates(super().get_fields())
