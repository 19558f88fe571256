"""Inputs and outputs of the risk operations (REST /api/v1/risk/..., MCP tools)."""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.errors import ValidationFailed
from core.money import normalize_currency, parse_amount
from core.serializers import AmountInField, CountryField, CurrencyField, ListQuerySerializer, UtcDateTimeField

from ..models import Payment
from ..serializers import PaymentSerializer, RiskExplanationSerializer
from .selectors import ANALYSES, linked_entities, recent_history


class RiskModelSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="Model id, prefix mdl_.")
    name = serializers.CharField()
    version = serializers.CharField()
    status = serializers.CharField(help_text="candidate, active or retired.")
    features = serializers.ListField(child=serializers.CharField())
    window_start = UtcDateTimeField(allow_null=True)
    window_end = UtcDateTimeField(allow_null=True)
    params = serializers.DictField()
    metrics = serializers.DictField(help_text="Held-out metrics with `rules_baseline` on the same rows.")
    data_fingerprint = serializers.CharField()
    promotion = serializers.DictField(help_text="The last promotion decision and its reason.")
    warning = serializers.SerializerMethodField()
    activated_at = UtcDateTimeField(allow_null=True)
    created = UtcDateTimeField()

    def get_warning(self, obj) -> str | None:
        from core.ml.registry import below_chance

        return "worse than chance (ROC-AUC at most 0.5): never used" if below_chance(obj) else None


class RiskModelListInput(ListQuerySerializer):
    pass


class TrainingRequestInput(serializers.Serializer):
    pass


class TrainingRunSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="Training run id, prefix ftr_.")
    status = serializers.CharField(help_text="queued, running, succeeded or failed.")
    trigger = serializers.CharField()
    progress = serializers.IntegerField(help_text="Percent done.")
    log = serializers.ListField(child=serializers.DictField())
    model_id = serializers.CharField(allow_null=True)
    promoted = serializers.BooleanField(allow_null=True)
    reason = serializers.CharField()
    created = UtcDateTimeField()


class HistoryItemSerializer(serializers.Serializer):
    id = serializers.CharField()
    amount = serializers.SerializerMethodField()
    currency = serializers.CharField()
    status = serializers.CharField()
    risk_score = serializers.IntegerField(allow_null=True)
    created = UtcDateTimeField()

    def get_amount(self, obj) -> str:
        from core.money import format_amount

        return format_amount(obj.amount, obj.currency)


class ReviewItemSerializer(serializers.Serializer):
    payment = PaymentSerializer(source="*")
    explanation = RiskExplanationSerializer(source="risk_explanation", many=True)
    recent_payments = serializers.SerializerMethodField()
    linked = serializers.SerializerMethodField(help_text="Other customers on the same device or card token.")

    @extend_schema_field(HistoryItemSerializer(many=True))
    def get_recent_payments(self, obj: Payment) -> list[Any]:
        # The stubs type `Serializer(many=True)` as the Serializer itself; it is a ListSerializer, `.data` a ReturnList.
        return HistoryItemSerializer(recent_history(obj), many=True).data  # type: ignore[return-value]  # stubs: many=True

    @extend_schema_field(serializers.DictField(child=serializers.ListField(child=serializers.CharField())))
    def get_linked(self, obj: Payment) -> dict[str, list[str]]:
        return linked_entities(obj)


class AssessmentInput(serializers.Serializer):
    payment_id = serializers.CharField(required=False, help_text="A stored payment (pay_...); or, instead, a "
                                                                 "proposed payment's customer_id, amount and "
                                                                 "currency (not both).")
    customer_id = serializers.CharField(required=False, help_text="Proposed payment: required without payment_id.")
    amount = AmountInField(required=False, help_text="Proposed payment, required without payment_id: major units "
                                                     "as a decimal string (e.g. \"10.50\").")
    currency = CurrencyField(required=False, help_text="Proposed payment: required without payment_id.")
    method = serializers.ChoiceField(choices=Payment.Method.choices, default="card")
    channel = serializers.ChoiceField(choices=["web", "app", "pos", "moto"], required=False, allow_blank=True,
                                      default="")
    device_id = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    ip_country = CountryField(required=False, allow_blank=True, default="")
    merchant_reference = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")

    def validate(self, attrs):
        if attrs.get("payment_id"):
            extra = [f for f in ("customer_id", "amount", "currency") if attrs.get(f) is not None]
            if extra:
                raise ValidationFailed({f: ["Not with payment_id."] for f in extra})
            return {"payment_id": attrs["payment_id"]}
        missing = [f for f in ("customer_id", "amount", "currency") if attrs.get(f) is None]
        if missing:
            raise ValidationFailed({f: ["Required without payment_id."] for f in missing})
        attrs["currency"] = normalize_currency(attrs["currency"])
        attrs["amount"] = parse_amount(attrs["amount"], attrs["currency"])
        attrs["ip_country"] = attrs.get("ip_country", "").upper()
        return attrs


class PaymentContextSerializer(serializers.Serializer):
    payment_id = serializers.CharField(allow_null=True)
    customer_id = serializers.CharField()
    amount = serializers.CharField()
    currency = serializers.CharField()
    transaction_intelligence = serializers.DictField(
        help_text="fraud_score (0-1), risk_factors, confidence, recommendation (approve, approve_with_monitoring, "
                  "review, block), basis.")
    user_behavior = serializers.DictField(help_text="Spending pattern, frequency, amount variance, tenure, basis.")
    system_intelligence = serializers.DictField(help_text="Provider routing would choose, observed success "
                                                          "probability and latency, alternatives, basis.")
    compliance_status = serializers.DictField(help_text="KYC status, risk level, flags (unknown where unknown).")


class PatternsInput(serializers.Serializer):
    analysis_type = serializers.ChoiceField(choices=ANALYSES)
    days = serializers.IntegerField(required=False, min_value=1, max_value=365, default=30)
    threshold = serializers.FloatField(required=False, min_value=0, max_value=1_000_000,
                                       help_text="velocity: payments in one hour (10); shared_devices: customers "
                                                 "(3); merchant_compromise: fraud share (0.05); behavioral_anomaly: "
                                                 "risk score (50).")


class PatternsSerializer(serializers.Serializer):
    analysis_type = serializers.CharField()
    since = serializers.CharField()
    threshold = serializers.FloatField()
    findings = serializers.ListField(child=serializers.DictField(),
                                     help_text="Each: kind, key, count, payment_ids (up to 20), details.")

