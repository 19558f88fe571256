"""Public operations on payments and refunds (scope area: payments; top-ups: wallets)."""

from core.money import parse_amount
from core.operations import Call, Operation, amount_value, register
from wallets import selectors as wallet_selectors

from . import selectors, services
from .serializers import (
    MismatchResolveInput,
    MismatchSerializer,
    PaymentCaptureInput,
    PaymentCreateInput,
    PaymentIdInput,
    PaymentListInput,
    PaymentReviewInput,
    PaymentSerializer,
    RefundCreateInput,
    RefundIdInput,
    RefundSerializer,
    TopUpInput,
    WebhookEventIdInput,
    WebhookEventSerializer,
)
from .services import reconciliation, webhooks

_ERRORS_PROVIDER = "A provider answer that never came leaves status unknown: call verify_payment, never retry."


def _get(*, actor, payment_id):
    return selectors.payment_get(payment_id=payment_id)


def _list(*, actor, **filters):
    return selectors.payment_list(**filters)


def _amount_for(payment_id, amount):
    # Amounts arrive in major units; the payment's currency gives the exponent.
    if amount is None:
        return None
    return parse_amount(amount, selectors.payment_get(payment_id=payment_id).currency)


def _capture(*, actor, payment_id, amount=None):
    return services.payment_capture(actor=actor, payment_id=payment_id, amount=_amount_for(payment_id, amount))


def _refund(*, actor, payment_id, reason, note="", amount=None):
    return services.refund_create(actor=actor, payment_id=payment_id, amount=_amount_for(payment_id, amount),
                                  reason=reason, note=note)


def _get_refund(*, actor, refund_id):
    return selectors.refund_get(refund_id=refund_id)


def _top_up(*, actor, wallet_id, amount, payment_method):
    wallet = wallet_selectors.wallet_get(wallet_id=wallet_id)
    return services.payment_create(actor=actor, customer_id=wallet.customer_id, currency=wallet.currency,
                                   amount=parse_amount(amount, wallet.currency), method="card",
                                   payment_method=payment_method, wallet_id=wallet.id,
                                   description=f"Top-up of {wallet.id}")


def _create(*, actor, **data):
    return services.payment_create(actor=actor, **data)


register(Operation(
    name="create_payment", title="Create payment",
    description=("Creates and confirms a payment of `amount` (major units, decimal string) in `currency` for "
                 "customer_id, through a provider chosen by routing (failing over on retriable declines). Returns "
                 "the payment (pay_): status succeeded (automatic capture), requires_capture (manual capture or "
                 "held for risk review), failed with failure_code (declines, blocked_by_risk: a normal result), "
                 "or unknown. " + _ERRORS_PROVIDER + " payment_method is a provider token (tok_visa...) or a wal_ "
                 "id for method=wallet; never a card number (raw_card_data_not_allowed). Errors: validation_error, "
                 "invalid_amount, amount_too_precise, amount_not_positive, unsupported_currency, not_found, "
                 "currency_mismatch."),
    handler=_create, scope="payments:write", permission="payments.add_payment",
    input=PaymentCreateInput, output=PaymentSerializer, read_only=False, open_world=True, success_status=201,
    idempotency_mode="lease", approvable=True, value=amount_value(), tags=("payments",),
))
register(Operation(
    name="get_payment_status", title="Get payment",
    description=("Returns one payment by its pay_ id, with amounts, provider, failure and risk result. "
                 "Errors: not_found."),
    handler=_get, scope="payments:read", permission="payments.view_payment",
    input=PaymentIdInput, output=PaymentSerializer, tags=("payments",),
))
register(Operation(
    name="list_payments", title="List payments",
    description=("Lists payments newest first, filtered by status, customer_id, provider, currency and creation "
                 "time (created_gte, created_lte); page with limit (max 100) and cursor."),
    handler=_list, scope="payments:read", permission="payments.view_payment",
    input=PaymentListInput, output=PaymentSerializer, many=True, tags=("payments",),
))
register(Operation(
    name="verify_payment", title="Verify payment with the provider",
    description=("Asks the provider where a payment stands and moves it forward to match (settles unknown and "
                 "processing payments). Never charges. Errors: not_found."),
    handler=services.payment_verify, scope="payments:write", permission="payments.verify_payment",
    input=PaymentIdInput, output=PaymentSerializer, read_only=False, open_world=True, idempotency_mode="lease",
    tags=("payments",),
))
register(Operation(
    name="capture_payment", title="Capture payment",
    description=("Captures an authorised payment (status requires_capture), all of it or `amount` (major units) "
                 "up to the authorised amount; the rest is released. Posts the capture to the ledger. Errors: "
                 "payment_not_capturable, capture_exceeds_authorised, invalid_state_transition (held for review), "
                 "not_found."),
    handler=_capture, scope="payments:write", permission="payments.capture_payment",
    input=PaymentCaptureInput, output=PaymentSerializer, read_only=False, destructive=True, open_world=True,
    idempotency_mode="lease", approvable=True, tags=("payments",),
    target="get_payment_status", value=amount_value(currency=None),
))
register(Operation(
    name="cancel_payment", title="Cancel payment",
    description=("Cancels a payment that is not captured yet and releases its authorisation. Errors: "
                 "invalid_state_transition, not_found."),
    handler=services.payment_cancel, scope="payments:write", permission="payments.cancel_payment",
    input=PaymentIdInput, output=PaymentSerializer, read_only=False, destructive=True, open_world=True,
    idempotency_mode="lease", tags=("payments",), target="get_payment_status",
))
register(Operation(
    name="refund_payment", title="Refund payment",
    description=("Refunds a captured payment, all of what remains or `amount` (major units); reason is one of "
                 "duplicate, fraudulent, requested_by_customer, other, with an optional note. Returns the refund "
                 "(re_). Errors: payment_not_refundable, refund_exceeds_captured, not_found."),
    handler=_refund, scope="payments:write", permission="payments.refund_payment",
    input=RefundCreateInput, output=RefundSerializer, read_only=False, destructive=True, open_world=True,
    success_status=201, idempotency_mode="lease", approvable=True, tags=("payments",),
    target="get_payment_status", value=amount_value(currency=None),
))
register(Operation(
    name="get_refund", title="Get refund",
    description="Returns one refund by its re_ id. Errors: not_found.",
    handler=_get_refund, scope="payments:read", permission="payments.view_refund",
    input=RefundIdInput, output=RefundSerializer, tags=("payments",),
))
register(Operation(
    name="top_up_wallet", title="Top up wallet",
    description=("Charges a card (payment_method token) for `amount` (major units, in the wallet's currency) and "
                 "credits the wallet when the payment succeeds. Returns the payment (pay_). " + _ERRORS_PROVIDER +
                 " Errors: not_found, wallet_frozen, validation_error, invalid_amount."),
    handler=_top_up, scope="wallets:write", permission="wallets.topup_wallet",
    input=TopUpInput, output=PaymentSerializer, read_only=False, open_world=True, success_status=201,
    idempotency_mode="lease", approvable=True, tags=("wallets",),
    target="get_wallet_balance", value=amount_value(currency=None),
))


def _payment_value(call: Call) -> tuple[int | None, str | None]:
    # A review decides the whole payment (approve captures all of it): it is worth its amount.
    state = call.target()
    if not state:
        return None, None
    return parse_amount(state["amount"], state["currency"]), state["currency"]


register(Operation(
    name="review_payment", title="Review held payment",
    description=("A risk analyst's decision on a payment held for review (status requires_capture, review_status "
                 "pending): decision approve captures it (automatic capture) or leaves it to be captured, reject "
                 "cancels it; `note` is the reason, kept in the audit trail. The decision becomes the payment's "
                 "fraud label (reject: fraud) for the next training. Returns the payment. Approvable: above a "
                 "threshold on the payment's amount the call is held for a person's approval. Errors: "
                 "invalid_state_transition (not held), validation_error, not_found."),
    handler=services.payment_review, scope="risk:write", permission="payments.review_payment",
    input=PaymentReviewInput, output=PaymentSerializer, read_only=False, destructive=True, open_world=True,
    idempotency_mode="lease", approvable=True, target="get_payment_status", value=_payment_value,
    tags=("risk",),
))

# Staff-only operations: the admin's buttons and actions (not offered to API keys or agents).
STAFF_ONLY = frozenset({"admin"})
register(Operation(
    name="retry_webhook_event", title="Retry applying a webhook event",
    description=("Applies a stored provider webhook event again (a failed or unapplied one); an applied or ignored "
                 "event is returned as it is. Errors: not_found."),
    handler=webhooks.webhook_apply, scope="payments:write", permission="payments.retry_webhookevent",
    input=WebhookEventIdInput, output=WebhookEventSerializer, read_only=False, doors=STAFF_ONLY,
    tags=("payments",),
))
register(Operation(
    name="resolve_reconciliation_mismatch", title="Resolve reconciliation mismatch",
    description=("Marks an open reconciliation mismatch resolved, with a note. Errors: invalid_state_transition "
                 "(already resolved), not_found."),
    handler=reconciliation.mismatch_resolve, scope="payments:write",
    permission="payments.resolve_reconciliationmismatch", input=MismatchResolveInput, output=MismatchSerializer,
    read_only=False, doors=STAFF_ONLY, tags=("payments",),
))
