"""Every write of the payments app (the names other apps call are re-exported here)."""

from .batch import ChargeRequest, payment_create_batch, payment_create_from_request
from .create import payment_create
from .lifecycle import (
    expire_authorisations,
    payment_cancel,
    payment_capture,
    payment_review,
    payment_verify,
    settle_unknown,
)
from .refunds import refund_apply_result, refund_create

__all__ = ["ChargeRequest", "expire_authorisations", "payment_cancel", "payment_capture", "payment_create",
           "payment_create_batch", "payment_create_from_request", "payment_review", "payment_verify",
           "refund_apply_result", "refund_create", "settle_unknown"]
