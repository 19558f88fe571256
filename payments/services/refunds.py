"""Refunds: partial or full; the sum of non-failed refunds never exceeds the captured amount.

The limit is checked and the amount reserved (`amount_refunded`) under a lock on the payment;
the provider is called after that transaction commits, and a refund that fails releases its
amount again: `refund_create` is a `@use_case(steps=True)`, whose first step commits through
`run_in_transaction` and whose last is the `refund_apply_result` use case.
"""

from __future__ import annotations

import logging

from core import clock
from core.audit import audit_record
from core.context import Actor
from core.db import run_in_transaction, use_case
from core.errors import ValidationFailed, money_details
from core.events import emit
from core.models import stamp, touch
from core.money import require_positive
from wallets import ledger
from wallets import selectors as wallet_selectors
from wallets.errors import InsufficientFunds

from ..audit import PaymentsAction
from ..errors import PaymentNotRefundable, RefundExceedsCaptured
from ..events import RefundsEvent
from ..models import Payment, Refund
from ..providers import ProviderTimeout, ProviderUnreachable, RefundResult, get_provider
from . import postings
from .common import lock_payment

logger = logging.getLogger("payments")
_STATUS_ACTIONS = {Refund.Status.PENDING: PaymentsAction.REFUND_PENDING,
                   Refund.Status.SUCCEEDED: PaymentsAction.REFUND_SUCCEEDED,
                   Refund.Status.FAILED: PaymentsAction.REFUND_FAILED}


def _reserve(*, actor: Actor, payment_id: str, amount: int | None, reason: str, note: str) -> Refund:
    payment = lock_payment(payment_id)
    if payment.status != Payment.Status.SUCCEEDED or payment.amount_captured <= 0:
        raise PaymentNotRefundable(f"A {payment.status} payment cannot be refunded.",
                                   details={"status": payment.status})
    remaining = payment.amount_refundable
    if remaining <= 0:
        raise PaymentNotRefundable("The payment is already fully refunded.",
                                   details={"status": payment.status, **money_details(
                                       payment.currency, amount_refunded=payment.amount_refunded)})
    amount = remaining if amount is None else amount
    if amount > remaining:
        raise RefundExceedsCaptured(details=money_details(payment.currency, amount_refundable=remaining,
                                                          requested=amount))
    if payment.wallet_id:
        # A top-up's refund takes the money back out of the wallet: it must still be there.
        wallet = wallet_selectors.wallet_get(wallet_id=payment.wallet_id)
        available = ledger.account_available(wallet_selectors.wallet_account(wallet=wallet))
        if available < amount:
            raise InsufficientFunds(details={"wallet_id": wallet.id, **money_details(
                wallet.currency, available=available, amount=amount)})
    refund = Refund(payment=payment, amount=amount, currency=payment.currency, reason=reason, note=note)
    stamp(refund, actor=actor)
    refund.save(force_insert=True)
    payment.amount_refunded += amount
    touch(payment, "amount_refunded")
    audit_record(action=PaymentsAction.REFUND_CREATED, actor=actor, obj=refund,
                 details={"payment_id": payment.id, "amount": amount, "reason": reason})
    emit(RefundsEvent.REFUND_CREATED, refund, actor=actor)
    if payment.method == Payment.Method.WALLET:
        _finish(payment=payment, refund=refund, result=RefundResult("succeeded"), actor=actor)
    return refund


def _finish(*, payment: Payment, refund: Refund, result: RefundResult, actor: Actor) -> Refund:
    """Applies a provider's answer to a locked payment and its pending refund."""
    if refund.status != Refund.Status.PENDING or result.status == "pending":
        if result.reference and not refund.provider_reference:
            refund.provider_reference = result.reference
            refund.save(update_fields=["provider_reference"])
        return refund
    refund.provider_reference = result.reference or refund.provider_reference
    refund.updated = clock.now()
    if result.status == "succeeded":
        succeeded_before = sum(payment.refunds.filter(status=Refund.Status.SUCCEEDED).values_list("amount", flat=True))
        fee_back = postings.fee_share(payment=payment, refunded_total_after=succeeded_before + refund.amount)
        refund.entry_id = postings.post_refund(payment=payment, refund=refund, fee_back=fee_back, actor=actor)
        refund.fee_returned, refund.status = fee_back, Refund.Status.SUCCEEDED
        payment.fee_refunded += fee_back
        touch(payment, "fee_refunded")
    else:
        refund.status, refund.failure_reason = Refund.Status.FAILED, (result.failure_reason or "failed")[:120]
        payment.amount_refunded -= refund.amount
        touch(payment, "amount_refunded")
    refund.save(update_fields=["provider_reference", "updated", "entry_id", "fee_returned", "status",
                               "failure_reason"])
    audit_record(action=_STATUS_ACTIONS[refund.status], actor=actor, obj=refund,
                 details={"payment_id": payment.id, "amount": refund.amount})
    emit(RefundsEvent.REFUND_SUCCEEDED if refund.status == Refund.Status.SUCCEEDED else RefundsEvent.REFUND_FAILED,
         refund, actor=actor)
    return refund


@use_case
def refund_apply_result(*, actor: Actor, refund_id: str, result: RefundResult) -> Refund:
    refund = Refund.objects.get(pk=refund_id)
    payment = lock_payment(refund.payment_id)
    refund = Refund.objects.select_for_update().get(pk=refund_id)
    return _finish(payment=payment, refund=refund, result=result, actor=actor)


@use_case(steps=True)
def refund_create(*, actor: Actor, payment_id: str, amount: int | None = None, reason: str = "requested_by_customer",
                  note: str = "") -> Refund:
    if reason not in Refund.Reason.values:
        raise ValidationFailed({"reason": [f"One of {', '.join(Refund.Reason.values)}."]})
    if amount is not None:
        require_positive(amount, field="amount")
    # Step 1 of this steps use case: reserve the amount and commit, before the provider call.
    refund = run_in_transaction(lambda: _reserve(actor=actor, payment_id=payment_id, amount=amount, reason=reason,
                                                 note=(note or "")[:500]))
    if refund.status != Refund.Status.PENDING:
        return refund
    payment = refund.payment
    provider = get_provider(payment.provider)
    try:
        result = provider.refund(reference=payment.provider_reference, amount=refund.amount, refund_id=refund.id,
                                 reason=reason)
    except ProviderUnreachable:
        result = RefundResult("failed", failure_reason="provider_unavailable")
    except ProviderTimeout:
        logger.warning("refund outcome unknown", extra={"refund_id": refund.id})
        return refund
    return refund_apply_result(refund_id=refund.id, result=result, actor=actor)

