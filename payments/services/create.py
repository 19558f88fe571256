"""Creating (and confirming) payments: one path, for one payment and for a batch alike.

`payment_create` is `payment_create_batch` with a list of one, so each rule (validation, risk,
routing, the attempt, settling, failover) has one definition. Its steps commit separately, so a
crash mid-way leaves an attempt that `verify` can settle, never a charge we don't know about:
1. each request is checked (bad input is its DomainError, returned in its place), scored for
   risk, and routed (routing decides once per currency and method of a batch);
2. one transaction inserts every payment (already `processing` with its first attempt when it
   goes to a provider) and its `payment.created` event: committed before any provider call;
3. wallet payments reserve on their wallet, and payments no provider serves fail, each in a
   transaction of its own;
4. the providers are called and their answers applied (`authorise.py`).
These services are `@use_case(steps=True)`: their steps commit through `run_in_transaction`, and
nobody wraps them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from accounts.models import Customer
from accounts.selectors import customer_get
from core import clock
from core.audit import audit_build, audit_record
from core.cards import refuse_card_data
from core.context import Actor
from core.db import run_in_transaction, use_case
from core.errors import DomainError, ValidationFailed
from core.events import build, emit
from core.ids import has_prefix
from core.models import AuditEvent, stamp, touch
from core.money import CurrencyMismatch, normalize_currency, require_positive
from core.rawrows import insert_together
from wallets import selectors as wallet_selectors
from wallets.errors import WalletFrozen

from .. import routing
from ..audit import PaymentsAction
from ..errors import NoProviderAvailable
from ..events import PaymentsEvent
from ..ipcountry import derive_country
from ..models import Payment, PaymentAttempt
from ..risk import RiskContext, RiskResult, score_payment
from . import postings
from .authorise import Attempt, authorise, fail_payment
from .common import emit_status, lock_payment, status_action

CHANNELS = ("web", "app", "pos", "moto")


@dataclass(frozen=True)
class ChargeRequest:
    """The arguments of `payment_create`, for a batch (billing charges off-session: no device, IP
    or channel)."""

    customer_id: str
    amount: int
    currency: str
    method: str
    payment_method: str
    description: str = ""
    metadata: dict | None = field(default_factory=dict)
    capture_method: str = "automatic"
    wallet_id: str | None = None
    device_id: str = ""
    ip_address: str | None = None
    channel: str = ""
    merchant_reference: str = ""
    ip_country: str = ""


@use_case(steps=True)
def payment_create(*, actor: Actor, customer_id: str, amount: int, currency: str, method: str,
                   payment_method: str, capture_method: str = "automatic", description: str = "",
                   metadata: dict | None = None, wallet_id: str | None = None, device_id: str = "",
                   ip_address: str | None = None, channel: str = "", merchant_reference: str = "",
                   ip_country: str = "") -> Payment:
    """Creates and confirms a payment. A decline is a normal return (status failed, failure_code);
    only bad input raises."""
    [result] = _create(actor, [ChargeRequest(
        customer_id=customer_id, amount=amount, currency=currency, method=method, payment_method=payment_method,
        capture_method=capture_method, description=description, metadata=metadata, wallet_id=wallet_id,
        device_id=device_id, ip_address=ip_address, channel=channel, merchant_reference=merchant_reference,
        ip_country=ip_country)])
    if isinstance(result, DomainError):
        raise result
    return result


@use_case(steps=True)
def payment_create_batch(*, actor: Actor, requests: list[ChargeRequest]) -> list[Payment | DomainError]:
    """What `payment_create` returns for each request, in order; bad input is the DomainError it
    would raise, returned in that request's place so one bad request does not stop the rest."""
    return _create(actor, list(requests))


@use_case(steps=True)
def payment_create_from_request(*, actor: Actor, request: ChargeRequest) -> Payment | DomainError:
    """`payment_create` with a request's fields; the DomainError it would raise is returned in its
    place, as `payment_create_batch` returns it for that request."""
    [result] = _create(actor, [request])
    return result


def _create(actor: Actor, requests: list[ChargeRequest]) -> list[Payment | DomainError]:
    results: list[Any] = [None] * len(requests)  # a Payment or DomainError at every index by the end
    currencies: dict[int, str] = {}
    for index, req in enumerate(requests):
        try:
            currencies[index] = _checked_input(req)
        except DomainError as exc:
            results[index] = exc
    customers = _customers({requests[i].customer_id for i in currencies})
    decisions: dict[tuple[str, str], routing.Decision | NoProviderAvailable] = {}
    now = clock.now()
    charged: list[tuple[int, Attempt]] = []
    from_wallet: list[int] = []
    unrouted: list[tuple[int, NoProviderAvailable]] = []
    audits: list[AuditEvent] = []
    for index, currency in currencies.items():
        req = requests[index]
        if req.ip_address and not req.ip_country:
            # Given, a country is the client's; derived only when a lookup is configured.
            req = replace(req, ip_country=derive_country(req.ip_address))
        try:
            customer = customers.get(req.customer_id) or customer_get(customer_id=req.customer_id)
            if isinstance(customer, DomainError):
                raise customer
            _check_wallets(req, customer, currency)
        except DomainError as exc:
            results[index] = exc
            continue
        risk = score_payment(RiskContext(
            customer_id=customer.id, customer_status=customer.status, amount=req.amount, currency=currency,
            method=req.method, channel=req.channel, device_id=req.device_id, ip_address=req.ip_address,
            merchant_reference=req.merchant_reference, metadata=req.metadata or {}, ip_country=req.ip_country,
            payment_method=req.payment_method))
        payment = _new_payment(actor=actor, customer=customer, risk=risk, now=now, req=req, currency=currency)
        results[index] = payment
        audits.append(audit_build(action=PaymentsAction.PAYMENT_CREATED, actor=actor, obj=payment,
                                  details=created_details(payment)))
        if payment.status == Payment.Status.FAILED:
            continue
        if req.method == Payment.Method.WALLET:
            from_wallet.append(index)
            continue
        decision = _route(decisions, currency, req.method)
        if isinstance(decision, NoProviderAvailable):
            unrouted.append((index, decision))
            continue
        payment.status, payment.provider = Payment.Status.PROCESSING, decision.provider
        first = PaymentAttempt(payment=payment, sequence=1, provider=decision.provider, reason=decision.reason,
                               created=now)
        charged.append((index, Attempt(payment, first)))
    if not audits:
        return results
    created = [r for r in results if isinstance(r, Payment)]
    # Built as inserted (routed payments already `processing`); one blocked by risk also failed.
    events = [build(PaymentsEvent.PAYMENT_CREATED, payment, actor=actor) for payment in created]
    events += [build(PaymentsEvent.PAYMENT_FAILED, payment, actor=actor) for payment in created
               if payment.status == Payment.Status.FAILED]
    run_in_transaction(partial(_insert, created, [item.attempt for _, item in charged], audits, events))
    for index in from_wallet:
        try:
            results[index] = run_in_transaction(partial(_wallet_authorise, results[index].id, actor))
        except DomainError as exc:
            results[index] = exc
    for index, exc in unrouted:
        results[index] = run_in_transaction(partial(fail_payment, results[index].id, actor, exc.code, exc.message))
    authorise([item for _, item in charged], actor=actor)
    for index, item in charged:
        results[index] = item.payment
    return results


def created_details(payment: Payment) -> dict:
    """The details of a payment's `payment.created` audit event."""
    return {"amount": payment.amount, "currency": payment.currency, "risk": payment.risk_decision}


def _validate(*, amount: Any, method: str, capture_method: str, payment_method: str, channel: str,
              metadata: dict | None) -> None:
    require_positive(amount, field="amount")
    errors = {}
    if method not in Payment.Method.values:
        errors["method"] = [f"One of {', '.join(Payment.Method.values)}."]
    if capture_method not in Payment.CaptureMethod.values:
        errors["capture_method"] = ["One of automatic, manual."]
    if not payment_method or len(payment_method) > 64:
        errors["payment_method"] = ["A provider token (or a wal_ id for wallet payments) is required."]
    if channel and channel not in CHANNELS:
        errors["channel"] = [f"One of {', '.join(CHANNELS)}."]
    if metadata is not None and not isinstance(metadata, dict):
        errors["metadata"] = ["An object of string keys and scalar values."]
    if errors:
        raise ValidationFailed(errors)


def _checked_input(req: ChargeRequest) -> str:
    """Refuses card data and bad input (raises); returns the normalized currency."""
    refuse_card_data({"payment_method": req.payment_method, "description": req.description,
                      "metadata": req.metadata or {}, "device_id": req.device_id,
                      "merchant_reference": req.merchant_reference})
    currency = normalize_currency(req.currency)
    _validate(amount=req.amount, method=req.method, capture_method=req.capture_method,
              payment_method=req.payment_method, channel=req.channel, metadata=req.metadata)
    return currency


def _customers(ids: set[str]) -> dict[str, Customer | DomainError]:
    """The requests' customers in one query; a missing one is its refusal (or absent, and refused by
    `customer_get` at its request)."""
    if len(ids) == 1:
        # One customer (every single payment): the lookup that refuses it too, so no second query.
        [only] = ids
        try:
            return {only: customer_get(customer_id=only)}
        except DomainError as exc:
            return {only: exc}
    return Customer.objects.in_bulk([i for i in ids if has_prefix(i, "cus")]) if ids else {}  # type: ignore[return-value]  # dict is invariant


def _check_wallets(req: ChargeRequest, customer: Customer, currency: str) -> None:
    """A top-up's wallet and a wallet payment's source wallet: the customer's, active, in the currency."""
    if req.wallet_id:
        wallet = wallet_selectors.wallet_get(wallet_id=req.wallet_id)
        if req.method == Payment.Method.WALLET:
            raise ValidationFailed({"method": ["A wallet cannot be topped up from a wallet."]})
        if wallet.status != "active":
            raise WalletFrozen(details={"wallet_id": wallet.id, "status": wallet.status})
        if wallet.currency != currency:
            raise CurrencyMismatch(f"The wallet holds {wallet.currency}.",
                                   details={"wallet_currency": wallet.currency, "currency": currency})
        if wallet.customer_id != customer.id:
            raise ValidationFailed({"customer_id": ["The wallet belongs to another customer."]})
    if req.method == Payment.Method.WALLET:
        source = wallet_selectors.wallet_get(wallet_id=req.payment_method)
        if source.customer_id != customer.id:
            raise ValidationFailed({"payment_method": ["The wallet belongs to another customer."]})
        if source.currency != currency:
            raise CurrencyMismatch(f"The wallet holds {source.currency}.",
                                   details={"wallet_currency": source.currency, "currency": currency})


def _new_payment(*, actor: Actor, customer: Customer, risk: RiskResult, now, req: ChargeRequest,
                 currency: str) -> Payment:
    """The unsaved payment with its risk verdict: held for review, or failed at once when blocked."""
    payment = Payment(
        customer=customer, amount=req.amount, currency=currency, method=req.method, payment_method=req.payment_method,
        capture_method=req.capture_method, description=req.description, metadata=req.metadata or {},
        device_id=req.device_id, ip_address=req.ip_address or None, channel=req.channel,
        merchant_reference=req.merchant_reference, wallet_id=req.wallet_id or "", ip_country=req.ip_country,
        risk_score=risk.score, risk_level=risk.level, risk_decision=risk.decision,
        risk_model_version=risk.model_version, risk_reasons=risk.reasons, risk_explanation=risk.explanation,
        risk_rules_fired=risk.rules_fired,
        review_status=Payment.Review.PENDING if risk.decision == "review" else Payment.Review.NONE)
    stamp(payment, actor=actor, now=now)
    if risk.decision == "block":
        payment.status = Payment.Status.FAILED
        payment.failure_code = "blocked_by_risk"
        payment.failure_message = "The payment was blocked by risk rules."
    return payment


def _route(decisions: dict, currency: str, method: str) -> routing.Decision | NoProviderAvailable:
    """Routing's choice for a currency and method, made once per batch (or why there is none)."""
    key = (currency, method)
    if key not in decisions:
        try:
            decisions[key] = routing.choose(currency=currency, method=method)
        except NoProviderAvailable as exc:
            decisions[key] = exc
    return decisions[key]


def _insert(payments: list[Payment], attempts: list[PaymentAttempt], audits: list[AuditEvent],
            events: list[Any]) -> None:
    insert_together(payments, attempts, audits, events)


def _wallet_authorise(payment_id: str, actor: Actor) -> Payment:
    payment = lock_payment(payment_id)
    payment.provider = postings.WALLET_PROVIDER
    try:
        payment.hold_id = postings.wallet_reserve(payment=payment, actor=actor)
    except DomainError as exc:
        if exc.status not in (409, 422):
            raise
        # Frozen wallet, limit or funds: a decline of this payment, not bad input.
        payment.status, payment.failure_code, payment.failure_message = Payment.Status.FAILED, exc.code, exc.message
        touch(payment, "provider", "status", "failure_code", "failure_message")
        audit_record(action=PaymentsAction.PAYMENT_FAILED, actor=actor, obj=payment, details={"failure_code": exc.code})
        emit(PaymentsEvent.PAYMENT_FAILED, payment, actor=actor)
        return payment
    payment.status, payment.amount_capturable, payment.authorised_at = (Payment.Status.REQUIRES_CAPTURE,
                                                                         payment.amount, clock.now())
    touch(payment, "provider", "hold_id", "status", "amount_capturable", "authorised_at")
    if payment.capture_method == Payment.CaptureMethod.AUTOMATIC and payment.review_status != Payment.Review.PENDING:
        entry_id, _ = postings.post_capture(payment=payment, amount=payment.amount, actor=actor)
        payment.status, payment.amount_captured, payment.amount_capturable = Payment.Status.SUCCEEDED, payment.amount, 0
        payment.capture_entry_id, payment.captured_at = entry_id, clock.now()
        touch(payment, "status", "amount_captured", "amount_capturable", "capture_entry_id", "captured_at")
    audit_record(action=status_action(payment), actor=actor, obj=payment, details={"source": "wallet"})
    emit_status(payment, before=Payment.Status.PROCESSING, actor=actor)
    return payment
