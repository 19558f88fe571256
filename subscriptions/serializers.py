"""Wire shapes of plans, subscriptions, invoices and analytics (canonical per object)."""

from __future__ import annotations

from rest_framework import serializers

from core.money import format_amount, normalize_currency, parse_amount
from core.serializers import (
    AmountInField,
    AmountOutField,
    CurrencyField,
    ListQuerySerializer,
    UtcDateTimeField,
    validate_metadata,
)

from .models import Invoice, Plan, Subscription
from .services.subscriptions import PRORATION_BEHAVIORS


class PlanSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="Plan id, prefix plan_.")
    object = serializers.SerializerMethodField()
    name = serializers.CharField()
    amount = AmountOutField()
    currency = serializers.CharField()
    interval = serializers.ChoiceField(choices=Plan.Interval.choices)
    interval_count = serializers.IntegerField()
    trial_days = serializers.IntegerField()
    active = serializers.BooleanField()
    metadata = serializers.DictField()
    created = UtcDateTimeField()

    def get_object(self, obj) -> str:
        return "plan"


class PlanCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    amount = AmountInField(help_text="Price per unit per interval in major units, e.g. \"19.99\".")
    currency = CurrencyField()
    interval = serializers.ChoiceField(choices=Plan.Interval.choices)
    interval_count = serializers.IntegerField(min_value=1, max_value=365, default=1)
    trial_days = serializers.IntegerField(min_value=0, max_value=730, default=0)
    metadata = serializers.DictField(required=False, default=dict, validators=[validate_metadata])

    def validate(self, attrs):
        attrs["currency"] = normalize_currency(attrs["currency"])
        attrs["amount"] = parse_amount(attrs["amount"], attrs["currency"], allow_zero=True)
        return attrs


class PlanListInput(ListQuerySerializer):
    active = serializers.BooleanField(required=False, allow_null=True, default=None)
    currency = CurrencyField(required=False)


class PlanIdInput(serializers.Serializer):
    plan_id = serializers.CharField(help_text="Plan id (plan_...).")


class SubscriptionSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="Subscription id, prefix sub_.")
    object = serializers.SerializerMethodField()
    customer_id = serializers.CharField()
    plan_id = serializers.CharField()
    quantity = serializers.IntegerField()
    currency = serializers.CharField(source="plan.currency")
    status = serializers.ChoiceField(choices=Subscription.Status.choices)
    current_period_start = UtcDateTimeField()
    current_period_end = UtcDateTimeField()
    trial_end = UtcDateTimeField(allow_null=True)
    cancel_at_period_end = serializers.BooleanField()
    canceled_at = UtcDateTimeField(allow_null=True)
    ended_at = UtcDateTimeField(allow_null=True)
    paused_at = UtcDateTimeField(allow_null=True)
    wallet_id = serializers.CharField(allow_blank=True)
    payment_method = serializers.CharField(allow_blank=True)
    metadata = serializers.DictField()
    created = UtcDateTimeField()
    updated = UtcDateTimeField()

    def get_object(self, obj) -> str:
        return "subscription"


class SubscriptionCreateInput(serializers.Serializer):
    customer_id = serializers.CharField(help_text="Customer id (cus_...).")
    plan_id = serializers.CharField(help_text="Plan id (plan_...).")
    quantity = serializers.IntegerField(min_value=1, max_value=10_000, default=1)
    wallet_id = serializers.CharField(required=False, allow_blank=True, default="",
                                      help_text="Pay invoices from this wallet of the customer (wal_...).")
    payment_method = serializers.CharField(required=False, allow_blank=True, default="", max_length=64,
                                           help_text="Or pay invoices with this provider token (e.g. tok_visa).")
    metadata = serializers.DictField(required=False, default=dict, validators=[validate_metadata])


class SubscriptionIdInput(serializers.Serializer):
    subscription_id = serializers.CharField(help_text="Subscription id (sub_...).")


class SubscriptionListInput(ListQuerySerializer):
    customer_id = serializers.CharField(required=False)
    plan_id = serializers.CharField(required=False)
    status = serializers.ChoiceField(choices=Subscription.Status.choices, required=False)


class SubscriptionChangeInput(serializers.Serializer):
    subscription_id = serializers.CharField(help_text="Subscription id (sub_...).")
    plan_id = serializers.CharField(required=False, help_text="The new plan (same currency and interval).")
    quantity = serializers.IntegerField(required=False, min_value=1, max_value=10_000)
    proration_behavior = serializers.ChoiceField(choices=PRORATION_BEHAVIORS, default="create_prorations")
    preview = serializers.BooleanField(required=False, default=False,
                                       help_text="true: return the lines the change would produce, write nothing.")


class SubscriptionCancelInput(serializers.Serializer):
    subscription_id = serializers.CharField(help_text="Subscription id (sub_...).")
    at_period_end = serializers.BooleanField(default=False)


class LineSerializer(serializers.Serializer):
    description = serializers.CharField()
    period_start = UtcDateTimeField()
    period_end = UtcDateTimeField()
    quantity = serializers.IntegerField()
    unit_amount = AmountOutField()
    amount = AmountOutField()
    currency = serializers.CharField()
    proration = serializers.BooleanField()
    plan_id = serializers.CharField(allow_blank=True)


class ChangeResultSerializer(serializers.Serializer):
    object = serializers.SerializerMethodField()
    preview = serializers.BooleanField()
    proration_date = UtcDateTimeField()
    subscription = SubscriptionSerializer()
    lines = LineSerializer(many=True)
    amount_due = AmountOutField(help_text="Sum of the proration lines (negative: a credit).")
    currency = serializers.CharField()
    invoice_id = serializers.SerializerMethodField()

    def get_object(self, obj) -> str:
        return "subscription_change"

    def get_invoice_id(self, obj) -> str | None:
        return obj.invoice.id if obj.invoice else None


class InvoiceSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="Invoice id, prefix inv_.")
    object = serializers.SerializerMethodField()
    number = serializers.CharField(allow_null=True, help_text="INV-YYYY-NNNNNN, taken at finalisation.")
    subscription_id = serializers.CharField()
    customer_id = serializers.CharField()
    status = serializers.ChoiceField(choices=Invoice.Status.choices)
    billing_reason = serializers.ChoiceField(choices=Invoice.Reason.choices)
    currency = serializers.CharField()
    period_start = UtcDateTimeField()
    period_end = UtcDateTimeField()
    subtotal = AmountOutField()
    total = AmountOutField()
    amount_paid = AmountOutField()
    amount_due = serializers.SerializerMethodField()
    due_date = UtcDateTimeField(allow_null=True)
    attempt_count = serializers.IntegerField()
    next_payment_attempt = UtcDateTimeField(allow_null=True)
    last_failure_code = serializers.CharField(allow_blank=True)
    payment_id = serializers.CharField(allow_blank=True)
    lines = LineSerializer(many=True, source="lines.all")
    finalized_at = UtcDateTimeField(allow_null=True)
    paid_at = UtcDateTimeField(allow_null=True)
    voided_at = UtcDateTimeField(allow_null=True)
    created = UtcDateTimeField()

    def get_object(self, obj) -> str:
        return "invoice"

    def get_amount_due(self, obj) -> str:
        due = obj.total - obj.amount_paid if obj.status in ("open", "uncollectible", "draft") else 0
        return format_amount(due, obj.currency)


class InvoiceIdInput(serializers.Serializer):
    invoice_id = serializers.CharField(help_text="Invoice id (inv_...).")


class InvoiceListInput(ListQuerySerializer):
    subscription_id = serializers.CharField(required=False)
    customer_id = serializers.CharField(required=False)
    status = serializers.ChoiceField(choices=Invoice.Status.choices, required=False)


class AnalyticsInput(serializers.Serializer):
    months = serializers.IntegerField(min_value=1, max_value=36, default=12)


class MrrRowSerializer(serializers.Serializer):
    currency = serializers.CharField()
    mrr = AmountOutField()
    arr = AmountOutField()
    arpu = AmountOutField()
    paying_customers = serializers.IntegerField()


class MovementSerializer(serializers.Serializer):
    month = serializers.CharField(help_text="YYYY-MM (UTC).")
    currency = serializers.CharField()
    mrr_start = AmountOutField()
    mrr_end = AmountOutField()
    new = AmountOutField()
    expansion = AmountOutField()
    contraction = AmountOutField()
    churn = AmountOutField()
    reactivation = AmountOutField()
    net_new = AmountOutField()
    customers_start = serializers.IntegerField()
    customers_churned = serializers.IntegerField()
    logo_churn_rate = serializers.CharField(allow_null=True)
    revenue_churn_rate = serializers.CharField(allow_null=True)
    net_revenue_retention = serializers.CharField(allow_null=True)


class TrialConversionSerializer(serializers.Serializer):
    trials_ended = serializers.IntegerField()
    converted = serializers.IntegerField()
    rate = serializers.CharField(allow_null=True)


class AnalyticsSerializer(serializers.Serializer):
    object = serializers.SerializerMethodField()
    as_of = UtcDateTimeField()
    months = serializers.IntegerField()
    mrr = MrrRowSerializer(many=True)
    movements = MovementSerializer(many=True)
    trial_conversion = TrialConversionSerializer()

    def get_object(self, obj) -> str:
        return "subscription_analytics"
