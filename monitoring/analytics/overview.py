"""The overview's numbers (the admin home and `get_dashboard_metrics`): three windows ending on a day (today, the
last 7 and the last 30 days), each against the window of the same length just before it.

Definitions (docs/dashboards/overview.md says the same for people):
- Gross volume is captured money by the day it was captured, per currency: the revenue page's gross
  (`monitoring.analytics.revenue`), so the tile and the page it links to agree.
- For the success rate a payment belongs to the window it was created in.
- Success rate: succeeded / (succeeded + failed) among the payments created in the window that ended in one of
  those two states (payments still in flight, canceled or unknown count in neither); None without any.
- Refunds: succeeded refunds created in the window, their count and amount per currency.
- Active subscriptions and MRR are states at an instant (the window's end, and its start for `previous`), read
  by the subscriptions app (`subscriptions.selectors.analytics.mrr_at`, over the history
  `subscription_analytics` reads): a subscription's latest event before the instant gives its status and MRR.
  Active: active or past_due (the statuses that count towards MRR).
- Open alerts: alerts not resolved (open or acknowledged) at the window's end; previous: at its start.
- Review queue (payments awaiting fraud review) and the health score (the latest recorded HealthCheck, never a
  live check) are states now, without a previous value.

Payments, gross volume and refunds come from the payment days (`monitoring.analytics.payment_days`) of the 60
days the windows and their previous windows cover; every figure over all windows from at most eight
queries, whatever the data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q

from accounts.models import Customer
from core import clock
from payments.risk.selectors import review_queue_payments
from subscriptions.selectors.analytics import mrr_at

from ..dashboards.period import Period, last_days
from ..models import Alert, HealthCheck
from . import payment_days, rate

# (key suffix, days, section title)
WINDOWS = (("today", 1, "Today"), ("7d", 7, "Last 7 days"), ("30d", 30, "Last 30 days"))


@dataclass(frozen=True)
class Window:
    key: str
    title: str
    current: Period
    previous: Period


def windows(end: dt.date, currency: str | None = None) -> list[Window]:
    out = []
    for key, days, title in WINDOWS:
        current = last_days(days, currency=currency, end=end)
        out.append(Window(key, title, current, current.previous()))
    return out


def _periods(wins: list[Window]) -> dict[str, Period]:
    """`<window>_cur` / `<window>_prev` -> the period of each."""
    return {name: period for w in wins for name, period in ((f"{w.key}_cur", w.current), (f"{w.key}_prev", w.previous))}


def _ranges(wins: list[Window]) -> dict[str, Q]:
    """Each period's range on `created` (without currency: the queries filter it)."""
    return {name: period.within(currency_field=None) for name, period in _periods(wins).items()}


def _span(wins: list[Window]) -> Period:
    """The 60 days every window and its previous window lie in."""
    return wins[-1].current.with_previous()


def _by_range(wins: list[Window], rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Each period's payment days."""
    return {name: payment_days.between(rows, period.start, period.end) for name, period in _periods(wins).items()}


def _payments(ranges: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Per range: succeeded and failed counts of the payments created in it."""
    return {name: {"succeeded": sum(r["succeeded"] for r in rows), "failed": sum(r["failed"] for r in rows)}
            for name, rows in ranges.items()}


def _per_currency(rows: list[dict[str, Any]], measure: str, currencies: set[str]) -> dict[str, int]:
    totals = dict.fromkeys(sorted(currencies), 0)
    for r in rows:
        if r["currency"] in totals:
            totals[r["currency"]] += r[measure]
    return totals


def _gross(ranges: dict[str, list[dict[str, Any]]], span: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Per range: captured money per currency by capture day."""
    currencies = {r["currency"] for r in span if r["captures"]}
    return {name: _per_currency(rows, "gross", currencies) for name, rows in ranges.items()}


def _refunds(ranges: dict[str, list[dict[str, Any]]], span: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per range: succeeded refunds made in it, their count and amount per currency."""
    currencies = {r["currency"] for r in span if r["refund_count"]}
    return {name: {"count": sum(r["refund_count"] for r in rows),
                   "amount": _per_currency(rows, "refunds", currencies)} for name, rows in ranges.items()}


def _new_customers(wins: list[Window]) -> dict[str, int]:
    ranges = _ranges(wins)
    qs = Customer.objects.filter(_span(wins).within(currency_field=None))
    return qs.aggregate(**{name: Count("id", filter=when) for name, when in ranges.items()})


def _instants(wins: list[Window], as_of: dt.datetime) -> dict[str, dt.datetime]:
    """`end` (now, or the end of the last day when it is in the past) and each window's start."""
    instants = {"end": min(as_of, wins[0].current.until)}
    for w in wins:
        instants[w.key] = w.current.since
    return instants


def _open_alerts(instants: dict[str, dt.datetime]) -> dict[str, int]:
    """Alerts not resolved at each instant: created before it and resolved (if ever) after it."""
    return Alert.objects.filter(created__lt=instants["end"]).aggregate(
        **{
            name: Count("id", filter=Q(created__lt=moment) & (Q(resolved_at__isnull=True) | Q(resolved_at__gte=moment)))
            for name, moment in instants.items()
        }
    )


def overview_metrics(end: dt.date, currency: str | None = None, *, as_of: dt.datetime | None = None) -> dict[str, Any]:
    """The raw figures of every window ending on `end` (money in minor units, rates as Decimal fractions)."""
    as_of = as_of or clock.now()
    wins = windows(end, currency)
    instants = _instants(wins, as_of)
    span = payment_days.day_rows(_span(wins))
    ranges = _by_range(wins, span)
    payments = _payments(ranges)
    gross = _gross(ranges, span)
    refunds = _refunds(ranges, span)
    customers = _new_customers(wins)
    subs = mrr_at(instants, currency)
    alerts = _open_alerts(instants)
    review_queue = review_queue_payments(currency=currency)
    health = HealthCheck.objects.order_by("-checked_at").values("id", "score", "state", "checked_at").first()
    out_windows = []
    for w in wins:
        cur, prev = payments[f"{w.key}_cur"], payments[f"{w.key}_prev"]
        out_windows.append(
            {
                "window": w.key,
                "title": w.title,
                "period": w.current,
                "previous_period": w.previous,
                "gross": _pairs(gross[f"{w.key}_cur"], gross[f"{w.key}_prev"]),
                "succeeded": (cur["succeeded"], prev["succeeded"]),
                "failed": (cur["failed"], prev["failed"]),
                "success_rate": (
                    rate(cur["succeeded"], cur["succeeded"] + cur["failed"]),
                    rate(prev["succeeded"], prev["succeeded"] + prev["failed"]),
                ),
                "refunds": (refunds[f"{w.key}_cur"]["count"], refunds[f"{w.key}_prev"]["count"]),
                "refunded": _pairs(refunds[f"{w.key}_cur"]["amount"], refunds[f"{w.key}_prev"]["amount"]),
                "new_customers": (customers[f"{w.key}_cur"], customers[f"{w.key}_prev"]),
                "active_subscriptions": (subs["end"]["active"], subs[w.key]["active"]),
                "mrr": _pairs(subs["end"]["mrr"], subs[w.key]["mrr"]),
                "open_alerts": (alerts["end"], alerts[w.key]),
            }
        )
    return {
        "as_of": instants["end"],
        "end": end,
        "currency": currency,
        "windows": out_windows,
        "review_queue": review_queue.count(),
        "health": health,
    }


def _pairs(current: dict[str, int], previous: dict[str, int]) -> list[dict[str, Any]]:
    return [
        {"currency": c, "value": current.get(c, 0), "previous": previous.get(c, 0)}
        for c in sorted(set(current) | set(previous))
        if current.get(c) or previous.get(c)
    ]
