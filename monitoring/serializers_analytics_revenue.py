"""Input and output of generate_revenue_analytics."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from core.serializers import AmountOutField, UtcDateTimeField

from .analytics.revenue import INTERVALS
from .serializers_analytics import AnalyticsPeriodInput


class RevenueAnalyticsInput(AnalyticsPeriodInput):
    interval = serializers.ChoiceField(choices=list(INTERVALS), default="day",
                                       help_text="Buckets of by_interval: day, week (ISO, from Monday) or month.")


class _Money(serializers.Serializer[Any]):
    currency = serializers.CharField()
    gross = AmountOutField(help_text="Captured amounts, by capture day.")
    fees = AmountOutField(help_text="Provider fees of those captures.")
    refunds = AmountOutField(help_text="Succeeded refunds, by the day they were made.")
    fees_returned = AmountOutField(help_text="Fees the provider gave back on those refunds.")
    net = AmountOutField(help_text="gross - fees - refunds + fees_returned.")
    payments = serializers.IntegerField(help_text="Captured payments.")
    refund_count = serializers.IntegerField(help_text="Succeeded refunds.")


class _BucketRow(_Money):
    bucket = serializers.CharField(help_text="First day of the day, week or month (YYYY-MM-DD).")


class _MethodRow(_Money):
    method = serializers.CharField()


class _ProviderRow(_Money):
    provider = serializers.CharField()


class _PointSerializer(serializers.Serializer[Any]):
    date = serializers.CharField(help_text="YYYY-MM-DD (UTC).")
    value = AmountOutField(help_text="Forecast gross of the day.")
    lower = AmountOutField(help_text="Lower bound of the 80 % prediction interval.")
    upper = AmountOutField(help_text="Upper bound of the 80 % prediction interval.")


class _ForecastSerializer(serializers.Serializer[Any]):
    currency = serializers.CharField()
    computed_at = UtcDateTimeField()
    model = serializers.CharField()
    model_version = serializers.CharField()
    horizon = serializers.IntegerField(help_text="Days forecast after training_end.")
    mape = serializers.DecimalField(max_digits=12, decimal_places=4, allow_null=True,
                                    help_text="Backtested MAPE of the model (fraction), rolling origins.")
    baseline_mape = serializers.DecimalField(max_digits=12, decimal_places=4, allow_null=True,
                                             help_text="MAPE of the weekly seasonal-naive baseline, same origins.")
    training_start = serializers.DateField()
    training_end = serializers.DateField()
    origins = serializers.ListField(child=serializers.CharField(), help_text="First forecast day of each origin.")
    backtest_points = serializers.IntegerField(help_text="Days scored over all origins.")
    excluded_zero_days = serializers.IntegerField(help_text="Days left out of the MAPE: their actual was zero.")
    points = _PointSerializer(many=True)


class RevenueAnalyticsSerializer(serializers.Serializer[Any]):
    object = serializers.SerializerMethodField()
    currency = serializers.CharField(allow_null=True)
    interval = serializers.CharField()
    totals = _Money(many=True)
    by_interval = _BucketRow(many=True)
    by_method = _MethodRow(many=True)
    by_provider = _ProviderRow(many=True)
    forecasts = _ForecastSerializer(many=True)
    currencies_without_forecast = serializers.ListField(
        child=serializers.CharField(), help_text="Currencies with revenue in the period but no stored forecast.")

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        fields["from"] = serializers.DateField()
        fields["to"] = serializers.DateField()
        return fields

    def get_object(self, obj: Any) -> str:
        return "revenue_analytics"
