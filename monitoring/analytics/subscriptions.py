"""Subscription analytics for the dashboard: MRR and its movements, churn and net revenue retention (all from
`subscriptions.selectors.subscription_analytics`, whose definitions hold), the churn model's at-risk list
(`subscriptions.churn.at_risk`), billing runs and dunning outcomes.

Definitions:
- MRR movements are per calendar month, for every month that overlaps the period; each month runs whole, the
  last one up to the end of the period (or now, if sooner). MRR now is MRR at that moment.
- Dunning outcomes: the invoices whose first collection attempt failed in the period (`first_failed_at`), by
  where they stand now: recovered (paid), retrying (open, a retry scheduled), given up (open, no retry left:
  dunning ended or the first payment is waiting for the customer), uncollectible, void.
- Retries: collection attempts after the first (`number` > 1) made in the period, succeeded or failed.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, Sum

from core import clock
from monitoring.dashboards.period import Period
from subscriptions import churn
from subscriptions.models import BillingRun, Invoice, InvoiceAttempt
from subscriptions.periods import months_between
from subscriptions.selectors import subscription_analytics

AT_RISK_LIMIT = 50
RUNS_LIMIT = 50
OUTCOMES = ("recovered", "retrying", "given_up", "uncollectible", "void")


def _as_of(period: Period) -> dt.datetime:
    return min(period.until - dt.timedelta(microseconds=1), clock.now())


def mrr(period: Period) -> dict:
    """MRR now (per currency) and the monthly movements of the months overlapping the period."""
    as_of = _as_of(period)
    first = min(period.start, as_of.date())
    months = months_between(first, as_of.date()) + 1
    result = subscription_analytics(months=months, as_of=as_of)
    keep = (lambda row: row["currency"] == period.currency) if period.currency else (lambda row: True)
    return {"as_of": as_of, "mrr": [r for r in result["mrr"] if keep(r)],
            "movements": [r for r in result["movements"] if keep(r)],
            "trial_conversion": result["trial_conversion"]}


def at_risk(period: Period, *, limit: int = AT_RISK_LIMIT) -> dict:
    """The paying subscriptions most at risk of churning, from the active churn model's stored scores (hourly),
    each with its top reasons; with no active model or no scores yet, no rows and the reason why."""
    result = churn.stored_at_risk(limit=limit, currency=period.currency)
    out = [{"subscription_id": r["subscription_id"], "customer_id": r["customer_id"], "currency": r["currency"],
            "score": Decimal(str(r["score"])), "reasons": "; ".join(_reason(x) for x in r["reasons"])}
           for r in result["subscriptions"]]
    model = result.get("model") or {}
    return {"status": result["status"], "message": result.get("message", ""), "warnings": result["warnings"],
            "model_version": model.get("version"), "subscriptions": out}


def _reason(reason: dict) -> str:
    value = f"{reason['value']} {reason['currency']}" if reason.get("currency") else str(reason["value"])
    return f"{reason['feature']} = {value}"


def billing_runs(period: Period, *, limit: int = RUNS_LIMIT) -> dict:
    """The billing runs started in the period: totals, and the latest `limit` runs."""
    runs = BillingRun.objects.filter(started__gte=period.since, started__lt=period.until)
    totals = runs.aggregate(runs=Count("pk"), failed=Count("pk", filter=Q(status=BillingRun.Status.FAILED)),
                            invoices_created=Sum("invoices_created"), payments_attempted=Sum("payments_attempted"),
                            payments_succeeded=Sum("payments_succeeded"), payments_failed=Sum("payments_failed"),
                            errors=Sum("errors"))
    rows: list[dict[str, Any]] = [dict(row) for row in runs.order_by("-started", "-id").values(
        "id", "status", "started", "finished", "renewed", "invoices_created", "payments_attempted",
        "payments_succeeded", "payments_failed", "canceled", "expired", "errors")[:limit]]
    for row in rows:
        finished = row["finished"]
        row["duration_ms"] = (finished - row["started"]).total_seconds() * 1000 if finished else None
    return {"totals": {k: v or 0 for k, v in totals.items()}, "runs": rows}


def dunning_outcomes(period: Period) -> list[dict]:
    """Per currency and outcome: the invoices that first failed in the period, and their totals (definitions
    above). Every outcome is listed for each currency that has any."""
    invoices = Invoice.objects.filter(first_failed_at__gte=period.since, first_failed_at__lt=period.until)
    if period.currency:
        invoices = invoices.filter(currency=period.currency)
    open_ = Q(status=Invoice.Status.OPEN)
    conditions = {
        "recovered": Q(status=Invoice.Status.PAID),
        "retrying": open_ & Q(next_payment_attempt__isnull=False),
        "given_up": open_ & Q(next_payment_attempt__isnull=True),
        "uncollectible": Q(status=Invoice.Status.UNCOLLECTIBLE),
        "void": Q(status=Invoice.Status.VOID),
    }
    aggregates: dict[str, Any] = {}
    for name, condition in conditions.items():
        aggregates[f"{name}_n"] = Count("pk", filter=condition)
        aggregates[f"{name}_total"] = Sum("total", filter=condition)
    rows: list[dict[str, Any]] = [dict(r) for r in invoices.values("currency").annotate(**aggregates)
                                  .order_by("currency")]
    return [{"currency": r["currency"], "outcome": name, "invoices": r[f"{name}_n"],
             "amount": r[f"{name}_total"] or 0} for r in rows for name in OUTCOMES]


def retries(period: Period) -> dict:
    """Collection retries (attempts after the first) made in the period, and the previous period's."""
    current = Q(created__gte=period.since)
    attempts = InvoiceAttempt.objects.filter(period.with_previous().within(currency_field="invoice__currency"),
                                             number__gt=1)
    succeeded, failed = Q(status=InvoiceAttempt.Status.SUCCEEDED), Q(status=InvoiceAttempt.Status.FAILED)
    return attempts.aggregate(
        attempted=Count("pk", filter=current), succeeded=Count("pk", filter=current & succeeded),
        failed=Count("pk", filter=current & failed), previous_attempted=Count("pk", filter=~current),
        previous_succeeded=Count("pk", filter=~current & succeeded))
