"""Event types of payments and refunds (declared once; see core.events)."""

from django.db import models

from core.events import declare_events, declare_object, render_as

from .models import Payment, Refund


@declare_events(scope="payments:read", permission="payments.view_payment")
class PaymentsEvent(models.TextChoices):
    PAYMENT_CREATED = "payment.created", "A payment was created (whatever its first outcome)"
    PAYMENT_SUCCEEDED = "payment.succeeded", "A payment succeeded (captured in full, or authorised for capture)"
    PAYMENT_FAILED = "payment.failed", "A payment failed (declined, blocked by risk, or expired)"
    PAYMENT_CANCELED = "payment.canceled", "A payment was canceled"
    PAYMENT_REQUIRES_REVIEW = "payment.requires_review", "A payment is held for risk review"
    PAYMENT_REVIEW_DECIDED = "payment.review_decided", "A held payment's review was approved or rejected"
    PAYMENT_CAPTURED = "payment.captured", "An authorised payment was captured (in part or in full)"


@declare_events(scope="payments:read", permission="payments.view_refund")
class RefundsEvent(models.TextChoices):
    REFUND_CREATED = "refund.created", "A refund was created"
    REFUND_SUCCEEDED = "refund.succeeded", "A refund succeeded"
    REFUND_FAILED = "refund.failed", "A refund failed"


declare_object(Payment, render_as("get_payment_status"))
declare_object(Refund, render_as("get_refund"))
