"""Every write of the payments app (the names other apps call are re-exported here)."""

from .create import ChargeRequest, payment_create, payment_create_batch, payment_create_from_request
from .lifecycle import (
    payment_cancel,
    payment_capture,
    payment_expire_authorisations,
    payment_review,
    payment_settle_unknown,
    payment_verify,
)
from .refunds import refund_apply_result, refund_create

__all__ = ["ChargeRequest", "payment_cancel", "payment_capture", "payment_create", "payment_create_batch",
           "payment_create_from_request", "payment_expire_authorisations", "payment_review",
           "payment_settle_unknown", "payment_verify", "refund_apply_result", "refund_create"]
