"""Risk operations (scope area: risk): for analysts and agents the reads (models, assessments, the review
queue, fraud patterns); for staff in the admin, retraining. Deciding a held payment is `review_payment`
(declared with the payments' operations, REST `POST /api/v1/risk/payments/{payment_id}/review`)."""

from core.ml.registry import model_list, register_trainer
from core.operations import Operation, register
from core.pagination import paginate

from . import selectors
from .serializers import (
    AssessmentInput,
    PatternsInput,
    PatternsSerializer,
    PaymentContextSerializer,
    ReviewItemSerializer,
    RiskModelListInput,
    RiskModelSerializer,
    TrainingRequestInput,
    TrainingRunSerializer,
)
from .training import fraud_training_request


def _models(*, actor, limit=None, cursor=None):
    return paginate(model_list("fraud"), limit=limit, cursor=cursor)


def _assess(*, actor, **data):
    return selectors.assess(**data)


def _queue(*, actor, limit=None, cursor=None):
    return selectors.review_queue(limit=limit, cursor=cursor)


def _patterns(*, actor, analysis_type, days=30, threshold=None):
    return selectors.fraud_patterns(analysis_type=analysis_type, days=days, threshold=threshold)


register(Operation(
    name="list_risk_models", title="List fraud models",
    description=("Every trained fraud model (newest first) with its status (candidate, active, retired), feature "
                 "list, training window, parameters, held-out metrics beside the rules baseline's, and a warning "
                 "when it ranks worse than chance. Errors: validation_error."),
    handler=_models, scope="risk:read", permission="core.view_mlmodel", input=RiskModelListInput,
    output=RiskModelSerializer, many=True, tags=("risk",),
))
register(Operation(
    name="assess_payment_risk", title="Assess a payment's risk",
    description=("The payment context for a stored payment (payment_id) or a proposed one (customer_id, amount "
                 "as a decimal string, currency, and optionally method, channel, device_id, ip_country, "
                 "merchant_reference): transaction_intelligence (fraud_score 0-1, risk_factors from the model's "
                 "feature contributions, confidence, recommendation), user_behavior, system_intelligence and "
                 "compliance_status, each value with its basis. Nothing is stored. Errors: validation_error, "
                 "not_found, invalid_amount, unsupported_currency."),
    handler=_assess, scope="risk:read", permission="payments.view_payment", input=AssessmentInput,
    output=PaymentContextSerializer, tags=("risk",),
))
register(Operation(
    name="get_review_queue", title="Risk review queue",
    description=("Payments held for risk review (newest first), each with its explanation, the customer's recent "
                 "payments and the other customers seen on the same device or card token. Decide one with "
                 "review_payment. Errors: validation_error."),
    handler=_queue, scope="risk:read", permission="payments.review_payment", input=RiskModelListInput,
    output=ReviewItemSerializer, many=True, tags=("risk",),
))
register(Operation(
    name="detect_fraud_patterns", title="Detect fraud patterns",
    description=("Pattern analysis over the last `days` (default 30): analysis_type velocity (customers with at "
                 "least `threshold` payments in one hour), shared_devices (devices used by at least `threshold` "
                 "customers), merchant_compromise (merchants whose labelled fraud share is at least `threshold`), "
                 "behavioral_anomaly (customers with payments scored at least `threshold`). Each finding names "
                 "the payments behind it. Errors: validation_error."),
    handler=_patterns, scope="risk:read", permission="payments.view_payment", input=PatternsInput,
    output=PatternsSerializer, tags=("risk",),
))


def _train(*, actor):
    return fraud_training_request(actor=actor, trigger="staff")


# Staff only: the model registry admin's "Train a candidate now" (a queued run; its page shows progress).
register(Operation(
    name="train_fraud_model", title="Train a candidate now",
    description=("Queues a retraining of the fraud model from stored payments and their labels (topped up with "
                 "simulated history while labelled payments are few): a candidate is registered and the "
                 "promotion rule applied, so it becomes active only if it is not worse than the active model and "
                 "better than the rules. Returns the run; its page shows the progress."),
    handler=_train, scope="risk:write", permission="core.change_mlmodel", input=TrainingRequestInput,
    output=TrainingRunSerializer, read_only=False, success_status=201, doors=frozenset({"admin"}),
    tags=("risk",),
))
register_trainer("fraud", operation="train_fraud_model", admin_url="admin:payments_fraudtrainingrun_add")
