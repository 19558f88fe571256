"""Payments' domain errors (codes are contracts, see DESIGN.md's table)."""

from core.errors import BusinessRefusal, DomainError, InvalidStateTransition, NotFound
from core.money import CurrencyMismatch

# Raised by payments too, declared in core: one class (and one code) for every app.
__all__ = ["CurrencyMismatch", "InvalidStateTransition", "NotFound"]


class PaymentNotCapturable(DomainError):
    code = "payment_not_capturable"
    status = 409
    default_message = "Only a payment in requires_capture can be captured."


class PaymentNotRefundable(DomainError):
    code = "payment_not_refundable"
    status = 409
    default_message = "Only a captured payment can be refunded."


class RefundExceedsCaptured(BusinessRefusal):
    code = "refund_exceeds_captured"
    default_message = "The refunds would exceed the captured amount."


class CaptureExceedsAuthorised(BusinessRefusal):
    code = "capture_exceeds_authorised"
    default_message = "The capture amount is greater than the authorised amount."


class NoProviderAvailable(DomainError):
    code = "no_provider_available"
    status = 422
    default_message = "No payment provider is configured for this currency and method."
