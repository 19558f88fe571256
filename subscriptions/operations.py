"""Public subscription operations. Names are the MCP tool names: a contract."""

from __future__ import annotations

from core.operations import Operation, register

from . import selectors, services
from .serializers import (
    AnalyticsInput,
    AnalyticsSerializer,
    ChangeResultSerializer,
    InvoiceIdInput,
    InvoiceListInput,
    InvoiceSerializer,
    PlanCreateInput,
    PlanIdInput,
    PlanListInput,
    PlanSerializer,
    SubscriptionCancelInput,
    SubscriptionChangeInput,
    SubscriptionCreateInput,
    SubscriptionIdInput,
    SubscriptionListInput,
    SubscriptionSerializer,
)

SUBS = ("subscriptions",)


def _plan_list(*, actor, **filters):
    return selectors.plan_list(**filters)


def _sub_get(*, actor, subscription_id):
    return selectors.subscription_get(subscription_id=subscription_id)


def _sub_list(*, actor, **filters):
    return selectors.subscription_list(**filters)


def _invoice_get(*, actor, invoice_id):
    return selectors.invoice_get(invoice_id=invoice_id)


def _invoice_list(*, actor, **filters):
    return selectors.invoice_list(**filters)


def _fresh_invoice(result):
    return selectors.invoice_get(invoice_id=result.id)


def _pay(*, actor, invoice_id):
    return _fresh_invoice(services.invoice_pay(actor=actor, invoice_id=invoice_id))


def _void(*, actor, invoice_id):
    return _fresh_invoice(services.invoice_void(actor=actor, invoice_id=invoice_id))


def _finalize(*, actor, invoice_id):
    return _fresh_invoice(services.invoice_finalize(actor=actor, invoice_id=invoice_id))


def _uncollectible(*, actor, invoice_id):
    return _fresh_invoice(services.invoice_mark_uncollectible(actor=actor, invoice_id=invoice_id))


def _analytics(*, actor, months=12):
    return selectors.subscription_analytics(months=months)


register(Operation(
    name="create_plan", title="Create plan",
    description=("Creates a price plan: amount per unit per interval (decimal string in major units), currency, "
                 "interval (day, week, month, year) and interval_count, trial_days. Plans are never edited; a "
                 "price change is a new plan. Errors: validation_error, invalid_amount, amount_too_precise, "
                 "unsupported_currency."),
    handler=services.plan_create, scope="subscriptions:write", permission="subscriptions.add_plan",
    input=PlanCreateInput, output=PlanSerializer, read_only=False, success_status=201, tags=SUBS,
))
register(Operation(
    name="list_plans", title="List plans",
    description="Lists plans, newest first; filter by active and currency; page with limit (max 100) and cursor.",
    handler=_plan_list, scope="subscriptions:read", permission="subscriptions.view_plan",
    input=PlanListInput, output=PlanSerializer, many=True, tags=SUBS,
))
register(Operation(
    name="archive_plan", title="Archive plan",
    description=("Archives a plan: no new subscriptions or changes to it; existing subscriptions keep renewing. "
                 "Idempotent. Errors: not_found."),
    handler=services.plan_archive, scope="subscriptions:write", permission="subscriptions.change_plan",
    input=PlanIdInput, output=PlanSerializer, read_only=False, destructive=True, tags=SUBS,
))
register(Operation(
    name="create_subscription", title="Create subscription",
    description=("Subscribes a customer to a plan. With the plan's trial: status trialing, first invoice at the "
                 "trial's end. Without: the first invoice is charged at once to wallet_id (the customer's wallet "
                 "in the plan's currency) or payment_method (a provider token); if that fails the subscription is "
                 "incomplete and expires after 23 h unless its invoice is paid. Errors: not_found, "
                 "validation_error, plan_inactive, currency_mismatch."),
    handler=services.subscription_create, scope="subscriptions:write", permission="subscriptions.add_subscription",
    input=SubscriptionCreateInput, output=SubscriptionSerializer, read_only=False, open_world=True,
    success_status=201, idempotency_mode="lease", tags=SUBS,
))
register(Operation(
    name="get_subscription", title="Get subscription",
    description="Returns one subscription by its sub_ id. Errors: not_found.",
    handler=_sub_get, scope="subscriptions:read", permission="subscriptions.view_subscription",
    input=SubscriptionIdInput, output=SubscriptionSerializer, tags=SUBS,
))
register(Operation(
    name="list_subscriptions", title="List subscriptions",
    description="Lists subscriptions, newest first; filter by customer_id, plan_id, status; limit and cursor.",
    handler=_sub_list, scope="subscriptions:read", permission="subscriptions.view_subscription",
    input=SubscriptionListInput, output=SubscriptionSerializer, many=True, tags=SUBS,
))
register(Operation(
    name="update_subscription", title="Change plan or quantity",
    description=("Moves a subscription to another plan (same currency and interval) and/or quantity, prorated to "
                 "the second: a credit line for the unused time on the old price and a charge line for the rest "
                 "on the new one. proration_behavior: create_prorations (lines go on the next invoice), none, "
                 "always_invoice (invoiced and charged now). preview=true (or dry_run) returns the lines and "
                 "writes nothing. Errors: not_found, validation_error, invalid_state_transition, plan_inactive, "
                 "currency_mismatch."),
    handler=services.subscription_change, preview=services.subscription_change_preview,
    scope="subscriptions:write", permission="subscriptions.change_subscription",
    input=SubscriptionChangeInput, output=ChangeResultSerializer, read_only=False, destructive=True,
    open_world=True, idempotency_mode="lease", tags=SUBS, target="get_subscription",
))
register(Operation(
    name="cancel_subscription", title="Cancel subscription",
    description=("Cancels now (status canceled, no more invoices or retries) or, with at_period_end=true, at the "
                 "end of the current period. Errors: not_found, invalid_state_transition."),
    handler=services.subscription_cancel, scope="subscriptions:write", permission="subscriptions.change_subscription",
    input=SubscriptionCancelInput, output=SubscriptionSerializer, read_only=False, destructive=True, tags=SUBS,
))
register(Operation(
    name="pause_subscription", title="Pause subscription",
    description=("Pauses an active, trialing or past_due subscription: it is not invoiced while paused. "
                 "Errors: not_found, invalid_state_transition."),
    handler=services.subscription_pause, scope="subscriptions:write", permission="subscriptions.change_subscription",
    input=SubscriptionIdInput, output=SubscriptionSerializer, read_only=False, tags=SUBS,
))
register(Operation(
    name="resume_subscription", title="Resume subscription",
    description=("Resumes a paused subscription: a new period starts now and its invoice is charged at once "
                 "(dunning if that fails). Errors: not_found, invalid_state_transition."),
    handler=services.subscription_resume, scope="subscriptions:write", permission="subscriptions.change_subscription",
    input=SubscriptionIdInput, output=SubscriptionSerializer, read_only=False, open_world=True,
    idempotency_mode="lease", tags=SUBS,
))
register(Operation(
    name="list_invoices", title="List invoices",
    description="Lists invoices, newest first; filter by subscription_id, customer_id, status; limit and cursor.",
    handler=_invoice_list, scope="subscriptions:read", permission="subscriptions.view_invoice",
    input=InvoiceListInput, output=InvoiceSerializer, many=True, tags=SUBS,
))
register(Operation(
    name="get_invoice", title="Get invoice",
    description="Returns one invoice with its lines by its inv_ id. Errors: not_found.",
    handler=_invoice_get, scope="subscriptions:read", permission="subscriptions.view_invoice",
    input=InvoiceIdInput, output=InvoiceSerializer, tags=SUBS,
))
register(Operation(
    name="pay_invoice", title="Pay invoice",
    description=("Charges an open or uncollectible invoice now with its subscription's payment source; a decline "
                 "is a normal result (the invoice stays open with last_failure_code). A paid invoice returns a "
                 "past_due/unpaid/incomplete subscription to active. Errors: not_found, invalid_state_transition."),
    handler=_pay, scope="subscriptions:write", permission="subscriptions.change_invoice",
    input=InvoiceIdInput, output=InvoiceSerializer, read_only=False, open_world=True, idempotency_mode="lease",
    tags=SUBS,
))
register(Operation(
    name="void_invoice", title="Void invoice",
    description="Voids a draft, open or uncollectible invoice; it will never be collected. Errors: not_found, "
                "invalid_state_transition.",
    handler=_void, scope="subscriptions:write", permission="subscriptions.change_invoice",
    input=InvoiceIdInput, output=InvoiceSerializer, read_only=False, destructive=True, tags=SUBS,
))
register(Operation(
    name="finalize_invoice", title="Finalize invoice",
    description="Finalises a draft invoice: takes its INV-YYYY-NNNNNN number and opens it for collection. "
                "Errors: not_found, invalid_state_transition.",
    handler=_finalize, scope="subscriptions:write", permission="subscriptions.change_invoice",
    input=InvoiceIdInput, output=InvoiceSerializer, read_only=False, tags=SUBS,
))
register(Operation(
    name="mark_invoice_uncollectible", title="Mark invoice uncollectible",
    description="Writes off an open invoice (no more automatic retries; it can still be paid). Errors: not_found, "
                "invalid_state_transition.",
    handler=_uncollectible, scope="subscriptions:write", permission="subscriptions.change_invoice",
    input=InvoiceIdInput, output=InvoiceSerializer, read_only=False, destructive=True, tags=SUBS,
))
register(Operation(
    name="get_subscription_analytics", title="Subscription analytics",
    description=("MRR and ARR per currency, ARPU, monthly MRR movements (new, expansion, contraction, churn, "
                 "reactivation) with logo and revenue churn rates and net revenue retention, and trial conversion, "
                 "over the last `months` months. Amounts are decimal strings; rates are decimal fractions."),
    handler=_analytics, scope="analytics:read", permission="subscriptions.view_subscription",
    input=AnalyticsInput, output=AnalyticsSerializer, tags=SUBS,
))
