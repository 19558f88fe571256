"""The canonical payment and refund objects and the operations' inputs."""

from rest_framework import serializers

from core.money import normalize_currency, parse_amount
from core.output import OutputSerializer
from core.serializers import (
    AmountInField,
    AmountOutField,
    CountryField,
    CurrencyField,
    DateTimeInField,
    ListQuerySerializer,
    UtcDateTimeField,
    validate_metadata,
)

from .models import Payment, Refund


class CardSerializer(serializers.Serializer):
    brand = serializers.CharField()
    country = serializers.CharField()
    last4 = serializers.CharField()


class RiskExplanationSerializer(serializers.Serializer):
    feature = serializers.CharField()
    value = serializers.FloatField(allow_null=True)
    usual = serializers.FloatField(allow_null=True, help_text="The customer's usual value, where there is one.")
    contribution = serializers.FloatField(help_text="Push on the score, in log-odds (XGBoost pred_contribs).")
    text = serializers.CharField()


class RiskSerializer(serializers.Serializer):
    score = serializers.IntegerField(allow_null=True)
    level = serializers.CharField()
    decision = serializers.CharField()
    model_version = serializers.CharField()
    reasons = serializers.ListField(child=serializers.CharField())
    explanation = RiskExplanationSerializer(many=True, help_text="Features that raised the model's score most.")
    rules_fired = serializers.ListField(child=serializers.CharField())


class PaymentSerializer(OutputSerializer):
    """The payment object, the same in REST, MCP and events (DESIGN.md's list)."""

    id = serializers.CharField(help_text="Payment id, prefix pay_.")
    status = serializers.ChoiceField(choices=Payment.Status.choices)
    amount = AmountOutField()
    currency = serializers.CharField()
    customer_id = serializers.CharField()
    method = serializers.ChoiceField(choices=Payment.Method.choices)
    payment_method = serializers.CharField(help_text="Provider token, or the wal_ id of a wallet payment.")
    card = serializers.SerializerMethodField()
    capture_method = serializers.ChoiceField(choices=Payment.CaptureMethod.choices)
    amount_capturable = AmountOutField()
    amount_captured = AmountOutField()
    amount_refunded = AmountOutField()
    provider = serializers.CharField(allow_null=True)
    provider_reference = serializers.CharField(allow_null=True)
    failure_code = serializers.CharField(allow_null=True)
    failure_message = serializers.CharField(allow_null=True)
    risk = serializers.SerializerMethodField()
    metadata = serializers.DictField()
    created = UtcDateTimeField()
    updated = UtcDateTimeField()

    def to_representation(self, instance):
        data = super().to_representation(instance)
        for key in ("provider", "provider_reference", "failure_code", "failure_message"):
            data[key] = data[key] or None
        return data

    def get_card(self, obj) -> CardSerializer(allow_null=True):  # type: ignore[valid-type]  # drf-spectacular's schema hint
        if obj.method != Payment.Method.CARD or not obj.card_last4:
            return None
        return {"brand": obj.card_brand, "country": obj.card_country, "last4": obj.card_last4}

    def get_risk(self, obj) -> RiskSerializer:
        # The annotation is drf-spectacular's schema hint, not the type returned.
        return {"score": obj.risk_score, "level": obj.risk_level, "decision": obj.risk_decision,  # type: ignore[return-value]
                "model_version": obj.risk_model_version, "reasons": list(obj.risk_reasons or []),
                "explanation": list(obj.risk_explanation or []), "rules_fired": list(obj.risk_rules_fired or [])}


class RefundSerializer(OutputSerializer):
    id = serializers.CharField(help_text="Refund id, prefix re_.")
    payment_id = serializers.CharField()
    status = serializers.ChoiceField(choices=Refund.Status.choices)
    amount = AmountOutField()
    currency = serializers.CharField()
    reason = serializers.ChoiceField(choices=Refund.Reason.choices)
    note = serializers.CharField(allow_blank=True)
    failure_reason = serializers.CharField(allow_null=True)
    created = UtcDateTimeField()
    updated = UtcDateTimeField()

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["failure_reason"] = data["failure_reason"] or None
        return data


class PaymentCreateInput(serializers.Serializer):
    amount = AmountInField()
    currency = CurrencyField()
    customer_id = serializers.CharField(help_text="Customer id (cus_...).")
    method = serializers.ChoiceField(choices=Payment.Method.choices, default="card")
    payment_method = serializers.CharField(max_length=64, help_text="Provider token (e.g. tok_visa), or a wal_ id "
                                                                    "for method=wallet. Never a card number.")
    capture_method = serializers.ChoiceField(choices=Payment.CaptureMethod.choices, default="automatic")
    description = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    metadata = serializers.DictField(required=False, default=dict, validators=[validate_metadata])
    device_id = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    ip_address = serializers.IPAddressField(required=False, allow_null=True, default=None)
    ip_country = CountryField(required=False, allow_blank=True, default="",
                              help_text="Country of the IP address (two letters), for the risk model.")
    channel = serializers.ChoiceField(choices=["web", "app", "pos", "moto"], required=False, allow_blank=True,
                                      default="")
    merchant_reference = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")

    def validate(self, attrs):
        attrs["currency"] = normalize_currency(attrs["currency"])
        attrs["amount"] = parse_amount(attrs["amount"], attrs["currency"])
        return attrs


class PaymentIdInput(serializers.Serializer):
    payment_id = serializers.CharField(help_text="Payment id (pay_...).")


class PaymentCaptureInput(PaymentIdInput):
    amount = AmountInField(required=False, help_text="Amount to capture; the whole authorisation if left out.")


class RefundCreateInput(PaymentIdInput):
    amount = AmountInField(required=False, help_text="Amount to refund; the whole remainder if left out.")
    reason = serializers.ChoiceField(choices=Refund.Reason.choices, default="requested_by_customer")
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class RefundIdInput(serializers.Serializer):
    refund_id = serializers.CharField(help_text="Refund id (re_...).")


class PaymentListInput(ListQuerySerializer):
    status = serializers.ChoiceField(choices=Payment.Status.choices, required=False)
    customer_id = serializers.CharField(required=False)
    provider = serializers.CharField(required=False)
    currency = CurrencyField(required=False)
    created_gte = DateTimeInField(required=False)
    created_lte = DateTimeInField(required=False)


class TopUpInput(serializers.Serializer):
    wallet_id = serializers.CharField(help_text="Wallet id (wal_...).")
    amount = AmountInField()
    payment_method = serializers.CharField(max_length=64, help_text="Provider token of the card paying.")


class PaymentReviewInput(PaymentIdInput):
    decision = serializers.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")],
                                       help_text="approve captures the held payment, reject cancels it.")
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="",
                                 help_text="The reason for the decision (kept in the audit trail).")


class WebhookEventIdInput(serializers.Serializer):
    event_id = serializers.CharField(help_text="Stored webhook event id (evt_...).")


class WebhookEventSerializer(serializers.Serializer):
    id = serializers.CharField()
    provider = serializers.CharField()
    type = serializers.CharField()
    status = serializers.CharField()
    attempts = serializers.IntegerField()
    payment_id = serializers.CharField()
    last_error = serializers.CharField()


class MismatchResolveInput(serializers.Serializer):
    mismatch_id = serializers.CharField(help_text="Reconciliation mismatch id (rcm_...).")
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="resolved")


class MismatchSerializer(serializers.Serializer):
    id = serializers.CharField()
    run_date = serializers.DateField()
    kind = serializers.CharField()
    status = serializers.CharField()
    resolution_note = serializers.CharField()
    resolved_by = serializers.CharField()
    resolved_at = UtcDateTimeField(allow_null=True)
