"""Subscription lifecycle: create, change (with proration and its preview), cancel, pause, resume."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from accounts.selectors import customer_get
from core import clock
from core.audit import audit_record
from core.context import Actor
from core.db import run_in_transaction, use_case
from core.errors import ValidationFailed
from core.models import touch
from core.money import CurrencyMismatch
from wallets import selectors as wallet_selectors

from ..audit import SubscriptionsAction
from ..errors import PlanInactive, SubscriptionStateError
from ..models import Invoice, Plan, Subscription
from ..periods import period_bounds
from ..proration import Line, proration_lines
from .attempts import _collect
from .common import _get_plan, _record_event, lock_subscription
from .invoices import _add_lines, _invoice_build

PRORATION_BEHAVIORS = ("create_prorations", "none", "always_invoice")
CHANGEABLE = (Subscription.Status.ACTIVE, Subscription.Status.TRIALING, Subscription.Status.PAST_DUE)
INCOMPLETE_TTL = dt.timedelta(hours=23)


def _plan_line(sub: Subscription, start: dt.datetime, end: dt.datetime) -> Line:
    plan = sub.plan
    return Line(f"{sub.quantity} x {plan.name} ({start:%Y-%m-%d} - {end:%Y-%m-%d})", start, end, sub.quantity,
                plan.amount, plan.amount * sub.quantity, plan.currency, False, plan.id)


def _check_source(*, customer_id: str, currency: str, wallet_id: str, payment_method: str) -> None:
    if wallet_id and payment_method:
        raise ValidationFailed({"wallet_id": ["Give wallet_id or payment_method, not both."]})
    if wallet_id:
        wallet = wallet_selectors.wallet_get(wallet_id=wallet_id)
        if wallet.customer_id != customer_id:
            raise ValidationFailed({"wallet_id": ["The wallet belongs to another customer."]})
        if wallet.currency != currency:
            raise CurrencyMismatch(f"The wallet holds {wallet.currency}; the plan bills in {currency}.",
                                   details={"wallet_currency": wallet.currency, "currency": currency})


@use_case(steps=True)
def subscription_create(*, actor: Actor, customer_id: str, plan_id: str, quantity: int = 1, wallet_id: str = "",
                        payment_method: str = "", trial_days: int | None = None,
                        metadata: dict | None = None) -> Subscription:
    """With a trial: trialing, first invoice at the trial's end. Without: the first invoice is paid
    at once; if that fails the subscription is incomplete (23 h to pay, then incomplete_expired)."""
    customer = customer_get(customer_id=customer_id)
    plan = _get_plan(plan_id)
    if not plan.active:
        raise PlanInactive(details={"plan_id": plan.id})
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= 10_000:
        raise ValidationFailed({"quantity": ["Between 1 and 10000."]})
    trial = plan.trial_days if trial_days is None else trial_days
    _check_source(customer_id=customer.id, currency=plan.currency, wallet_id=wallet_id or "",
                  payment_method=payment_method or "")
    if not trial and not (wallet_id or payment_method):
        raise ValidationFailed({"payment_method": ["A wallet_id or payment_method is needed to pay the first "
                                                   "invoice."]})

    def write():
        now = clock.now()
        sub = Subscription(customer=customer, plan=plan, quantity=quantity, wallet_id=wallet_id or "",
                           payment_method=payment_method or "", metadata=metadata or {}, created=now, updated=now)
        if trial:
            sub.trial_end = now + dt.timedelta(days=trial)
            sub.status, sub.billing_cycle_anchor, sub.period_index = Subscription.Status.TRIALING, sub.trial_end, -1
            sub.current_period_start, sub.current_period_end = now, sub.trial_end
        else:
            sub.status, sub.billing_cycle_anchor, sub.period_index = Subscription.Status.INCOMPLETE, now, 0
            sub.current_period_start, sub.current_period_end = period_bounds(now, plan.interval, plan.interval_count, 0)
        sub.save(force_insert=True)
        _record_event(sub, "created")
        audit_record(action=SubscriptionsAction.SUBSCRIPTION_CREATED, actor=actor, obj=sub,
                     details={"plan_id": plan.id, "quantity": quantity, "status": sub.status})
        invoice = None
        if not trial:
            invoice = _invoice_build(sub=sub, reason=Invoice.Reason.CREATE, period_start=sub.current_period_start,
                                    period_end=sub.current_period_end, actor=actor,
                                    lines=[_plan_line(sub, sub.current_period_start, sub.current_period_end)])
            if invoice.status == Invoice.Status.PAID:
                sub.status = Subscription.Status.ACTIVE
                touch(sub, "status")
                _record_event(sub, "activated")
        return sub, invoice

    sub, invoice = run_in_transaction(write)
    if invoice is not None and invoice.status == Invoice.Status.OPEN:
        _collect(invoice.id, actor=actor)
    return Subscription.objects.select_related("plan").get(pk=sub.pk)


@dataclass
class ChangeResult:
    subscription: Subscription
    lines: list = field(default_factory=list)
    invoice: Invoice | None = None
    preview: bool = False
    proration_date: dt.datetime | None = None

    @property
    def amount_due(self) -> int:
        return sum(line.amount for line in self.lines)

    @property
    def currency(self) -> str:
        return self.subscription.plan.currency


def _plan_change(sub: Subscription, plan_id: str | None, quantity: int | None,
                 proration_behavior: str) -> tuple[Plan, int, list[Line]]:
    if sub.status not in CHANGEABLE:
        raise SubscriptionStateError(details={"subscription_id": sub.id, "status": sub.status})
    if proration_behavior not in PRORATION_BEHAVIORS:
        raise ValidationFailed({"proration_behavior": [f"One of {', '.join(PRORATION_BEHAVIORS)}."]})
    if plan_id is None and quantity is None:
        raise ValidationFailed({"plan_id": ["Give plan_id, quantity or both."]})
    new_plan = sub.plan if plan_id is None or plan_id == sub.plan_id else _get_plan(plan_id)
    new_quantity = sub.quantity if quantity is None else quantity
    if isinstance(new_quantity, bool) or not isinstance(new_quantity, int) or not 1 <= new_quantity <= 10_000:
        raise ValidationFailed({"quantity": ["Between 1 and 10000."]})
    if new_plan.pk != sub.plan_id and not new_plan.active:
        raise PlanInactive(details={"plan_id": new_plan.id})
    if new_plan.currency != sub.plan.currency:
        raise CurrencyMismatch(f"The subscription bills in {sub.plan.currency}.",
                               details={"currency": sub.plan.currency, "plan_currency": new_plan.currency})
    if (new_plan.interval, new_plan.interval_count) != (sub.plan.interval, sub.plan.interval_count):
        raise ValidationFailed({"plan_id": ["The new plan must bill on the same interval; cancel and subscribe "
                                            "again to change the billing interval."]})
    if new_plan.pk == sub.plan_id and new_quantity == sub.quantity:
        raise ValidationFailed({"plan_id": ["Nothing would change."]})
    lines: list[Line] = []
    if proration_behavior != "none" and sub.status != Subscription.Status.TRIALING:
        lines = proration_lines(at=clock.now(), period_start=sub.current_period_start,
                                period_end=sub.current_period_end, currency=sub.plan.currency,
                                old_plan=sub.plan, old_quantity=sub.quantity, new_plan=new_plan,
                                new_quantity=new_quantity)
    return new_plan, new_quantity, lines


@use_case
def subscription_change_preview(*, actor: Actor, subscription_id: str, plan_id: str | None = None,
                                quantity: int | None = None,
                                proration_behavior: str = "create_prorations", **_ignored) -> ChangeResult:
    """The lines a change would produce, computed under no lock and writing nothing."""
    from ..selectors import subscription_get

    sub = subscription_get(subscription_id=subscription_id)
    _, _, lines = _plan_change(sub, plan_id, quantity, proration_behavior)
    return ChangeResult(sub, lines, None, True, clock.now())


@use_case(steps=True)
def subscription_change(*, actor: Actor, subscription_id: str, plan_id: str | None = None,
                        quantity: int | None = None, proration_behavior: str = "create_prorations",
                        preview: bool = False) -> ChangeResult:
    if preview:
        return subscription_change_preview(actor=actor, subscription_id=subscription_id, plan_id=plan_id,
                                           quantity=quantity, proration_behavior=proration_behavior)

    def write():
        sub = lock_subscription(subscription_id)
        old = (sub.plan_id, sub.quantity)
        new_plan, new_quantity, lines = _plan_change(sub, plan_id, quantity, proration_behavior)
        invoice = None
        if proration_behavior == "always_invoice" and sum(line.amount for line in lines) > 0:
            invoice = _invoice_build(sub=sub, reason=Invoice.Reason.UPDATE, period_start=clock.now(),
                                    period_end=sub.current_period_end, lines=lines, actor=actor)
        else:
            _add_lines(sub, lines, None)
        sub.plan, sub.quantity = new_plan, new_quantity
        touch(sub, "plan", "quantity")
        _record_event(sub, "changed")
        audit_record(action=SubscriptionsAction.SUBSCRIPTION_CHANGED, actor=actor, obj=sub,
                     details={"from": list(old), "to": [new_plan.id, new_quantity],
                              "proration_behavior": proration_behavior,
                              "proration": sum(line.amount for line in lines)})
        return ChangeResult(sub, lines, invoice, False, clock.now())

    result = run_in_transaction(write)
    if result.invoice is not None and result.invoice.status == Invoice.Status.OPEN:
        _collect(result.invoice.id, actor=actor)
        result.invoice.refresh_from_db()
    result.subscription.refresh_from_db()
    return result


@use_case
def subscription_cancel(*, actor: Actor, subscription_id: str, at_period_end: bool = False) -> Subscription:
    sub = lock_subscription(subscription_id)
    if sub.status in (Subscription.Status.CANCELED, Subscription.Status.INCOMPLETE_EXPIRED):
        raise SubscriptionStateError(details={"subscription_id": sub.id, "status": sub.status})
    now = clock.now()
    if at_period_end and sub.status not in (Subscription.Status.INCOMPLETE, Subscription.Status.PAUSED):
        sub.cancel_at_period_end, sub.canceled_at = True, now
        touch(sub, "cancel_at_period_end", "canceled_at")
    else:
        sub.status, sub.canceled_at, sub.ended_at = Subscription.Status.CANCELED, now, now
        touch(sub, "status", "canceled_at", "ended_at")
        Invoice.objects.filter(subscription=sub, status=Invoice.Status.OPEN).update(next_payment_attempt=None)
        _record_event(sub, "canceled")
    audit_record(action=SubscriptionsAction.SUBSCRIPTION_CANCELED, actor=actor, obj=sub,
                 details={"at_period_end": at_period_end})
    return sub


@use_case
def subscription_pause(*, actor: Actor, subscription_id: str) -> Subscription:
    """Paused subscriptions are not invoiced; the period in progress is not credited."""
    sub = lock_subscription(subscription_id)
    if sub.status not in CHANGEABLE:
        raise SubscriptionStateError(details={"subscription_id": sub.id, "status": sub.status})
    sub.status, sub.paused_at = Subscription.Status.PAUSED, clock.now()
    touch(sub, "status", "paused_at")
    _record_event(sub, "paused")
    audit_record(action=SubscriptionsAction.SUBSCRIPTION_PAUSED, actor=actor, obj=sub)
    return sub


@use_case(steps=True)
def subscription_resume(*, actor: Actor, subscription_id: str) -> Subscription:
    """Resuming starts a new period now, invoiced and collected at once (dunning if it fails)."""
    def write():
        sub = lock_subscription(subscription_id)
        if sub.status != Subscription.Status.PAUSED:
            raise SubscriptionStateError(details={"subscription_id": sub.id, "status": sub.status})
        now = clock.now()
        plan = sub.plan
        sub.billing_cycle_anchor, sub.period_index = now, 0
        sub.current_period_start, sub.current_period_end = period_bounds(now, plan.interval, plan.interval_count, 0)
        sub.status, sub.paused_at, sub.trial_end = Subscription.Status.ACTIVE, None, None
        touch(sub, "billing_cycle_anchor", "period_index", "current_period_start", "current_period_end", "status",
             "paused_at", "trial_end")
        invoice = _invoice_build(sub=sub, reason=Invoice.Reason.RESUME, period_start=sub.current_period_start,
                                period_end=sub.current_period_end, actor=actor,
                                lines=[_plan_line(sub, sub.current_period_start, sub.current_period_end)])
        _record_event(sub, "resumed")
        audit_record(action=SubscriptionsAction.SUBSCRIPTION_RESUMED, actor=actor, obj=sub,
                     details={"invoice_id": invoice.id})
        return sub, invoice

    sub, invoice = run_in_transaction(write)
    if invoice.status == Invoice.Status.OPEN:
        _collect(invoice.id, actor=actor)
    return Subscription.objects.select_related("plan").get(pk=sub.pk)


@use_case
def subscription_set_payment_source(*, actor: Actor, subscription_id: str, wallet_id: str = "",
                                    payment_method: str = "") -> Subscription:
    """Replaces the default payment source (the customer's wallet or a provider token)."""
    if not (wallet_id or payment_method):
        raise ValidationFailed({"payment_method": ["Give wallet_id or payment_method."]})
    sub = lock_subscription(subscription_id)
    _check_source(customer_id=sub.customer_id, currency=sub.plan.currency, wallet_id=wallet_id,
                  payment_method=payment_method)
    sub.wallet_id, sub.payment_method = wallet_id, payment_method
    touch(sub, "wallet_id", "payment_method")
    audit_record(action=SubscriptionsAction.SUBSCRIPTION_PAYMENT_SOURCE_CHANGED, actor=actor, obj=sub,
                 details={"wallet_id": wallet_id, "payment_method": payment_method})
    return sub
