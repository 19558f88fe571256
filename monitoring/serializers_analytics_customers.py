"""Input and output of `analyze_user_behavior` (all customers, or one)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from core.serializers import AmountOutField, UtcDateTimeField

from .dashboards.period import Period
from .serializers_analytics import RATE as _RATE
from .serializers_analytics import AnalyticsPeriodInput


class BehaviorInput(AnalyticsPeriodInput):
    customer_id = serializers.CharField(
        required=False, max_length=40, help_text="cus_ id: analyse this customer; absent: all customers."
    )


class CustomerIdBehaviorInput(AnalyticsPeriodInput):
    customer_id = serializers.CharField(max_length=40, help_text="The customer (cus_ id).")


class SegmentCountSerializer(serializers.Serializer[Any]):
    segment = serializers.CharField(
        help_text="champions, loyal, potential_loyalists, new, promising, "
        "need_attention, cannot_lose, at_risk, hibernating or lost."
    )
    customers = serializers.IntegerField()
    share = serializers.DecimalField(max_digits=5, decimal_places=4, allow_null=True, help_text=_RATE)

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        # `label` would shadow Field.label: declared here.
        fields = super().get_fields()
        fields["label"] = serializers.CharField(help_text="The segment's name for people.")
        return fields


class SpendingDistributionSerializer(serializers.Serializer[Any]):
    currency = serializers.CharField()
    customers = serializers.IntegerField(help_text="Customers who paid in this currency in the period.")
    total = AmountOutField(help_text="Captured in the period (decimal string).")
    average = AmountOutField(help_text="Average captured per paying customer (rounded half up).")
    median = AmountOutField(help_text="Median captured per paying customer.")
    max = AmountOutField(help_text="The largest customer's captured amount.")


class PopulationSerializer(serializers.Serializer[Any]):
    paying_customers = serializers.IntegerField(help_text="Customers with a succeeded payment in the period.")
    repeat_customers = serializers.IntegerField(help_text="Of those, with two or more.")
    repeat_rate = serializers.DecimalField(max_digits=5, decimal_places=4, allow_null=True, help_text=_RATE)
    new_customers = serializers.IntegerField(help_text="Customers created in the period.")
    segments = SegmentCountSerializer(many=True, help_text="Every segment, in the documented order.")
    spending = SpendingDistributionSerializer(many=True)


class CustomerSegmentSerializer(serializers.Serializer[Any]):
    segment = serializers.CharField()
    recency_score = serializers.IntegerField(help_text="1-5, higher is more recent.")
    frequency_score = serializers.IntegerField()
    monetary_score = serializers.IntegerField()
    recency_days = serializers.IntegerField(help_text="Days from the last succeeded payment to the period's end.")
    frequency = serializers.IntegerField(help_text="Succeeded payments in the period.")


class CustomerSpendingSerializer(serializers.Serializer[Any]):
    currency = serializers.CharField()
    payments = serializers.IntegerField()
    total = AmountOutField()
    average = AmountOutField(help_text="Average captured per payment (rounded half up).")
    median = AmountOutField(help_text="Median captured per payment.")
    refunded = AmountOutField()
    refund_ratio = serializers.DecimalField(
        max_digits=5, decimal_places=4, allow_null=True, help_text="Refunded / captured. " + _RATE
    )


class MethodCountSerializer(serializers.Serializer[Any]):
    method = serializers.CharField()
    payments = serializers.IntegerField()


class HourCountSerializer(serializers.Serializer[Any]):
    hour = serializers.IntegerField(help_text="0-23, UTC.")
    payments = serializers.IntegerField()


class WeekdayCountSerializer(serializers.Serializer[Any]):
    weekday = serializers.CharField(help_text="mon .. sun (UTC).")
    payments = serializers.IntegerField()


class TrendSerializer(serializers.Serializer[Any]):
    currency = serializers.CharField()
    total = AmountOutField(help_text="Captured in the period.")
    previous_total = AmountOutField(help_text="Captured in the previous period of the same length.")
    payments = serializers.IntegerField()
    previous_payments = serializers.IntegerField()


class CustomerBehaviorSerializer(serializers.Serializer[Any]):
    customer_id = serializers.CharField(source="customer.pk")
    # `name` would shadow Field.name; declared in get_fields.
    segment = CustomerSegmentSerializer(allow_null=True, help_text="Null when the customer did not pay in the period.")
    spending = CustomerSpendingSerializer(many=True)
    preferred_methods = MethodCountSerializer(many=True, help_text="Succeeded payments per method, most used first.")
    hours = HourCountSerializer(many=True, help_text="Succeeded payments per hour of day (24 rows).")
    weekdays = WeekdayCountSerializer(many=True, help_text="Succeeded payments per weekday (7 rows).")
    payments = serializers.IntegerField(help_text="Payments created in the period, any status.")
    succeeded = serializers.IntegerField()
    failed = serializers.IntegerField()
    failure_ratio = serializers.DecimalField(
        max_digits=5, decimal_places=4, allow_null=True, help_text="Failed / all payments. " + _RATE
    )
    refunded_payments = serializers.IntegerField(help_text="Succeeded payments with a refund.")
    refunded_payment_ratio = serializers.DecimalField(max_digits=5, decimal_places=4, allow_null=True, help_text=_RATE)
    first_payment_at = UtcDateTimeField(allow_null=True, help_text="First succeeded payment ever.")
    last_payment_at = UtcDateTimeField(allow_null=True, help_text="Last succeeded payment ever.")
    days_active = serializers.IntegerField(help_text="Days in the period with a succeeded payment.")
    trend = TrendSerializer(many=True)

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        fields["name"] = serializers.CharField(source="customer.name")
        return fields


class BehaviorSerializer(serializers.Serializer[Any]):
    currency = serializers.CharField(allow_null=True, help_text="The currency filter, or null for all.")
    population = PopulationSerializer(allow_null=True, help_text="All customers (no customer_id given).")
    customer = CustomerBehaviorSerializer(allow_null=True, help_text="One customer (customer_id given).")

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        fields["from"] = serializers.DateField(help_text="First day of the period.")
        fields["to"] = serializers.DateField(help_text="Last day of the period, inclusive.")
        return fields


def period_fields(period: Period) -> dict[str, Any]:
    return {"from": period.start, "to": period.end, "currency": period.currency}
