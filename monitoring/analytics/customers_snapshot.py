"""The customers page's RFM figures (segments, top customers, the period's and the previous period's summary):
read from the snapshot a job keeps for the default period (`monitoring.models.CustomersSnapshot`, every five
minutes) when it is that period and fresh, computed otherwise. Scoring a month's paying customers costs about a
second at a million payments; a rollup cannot help a period that may start on any day."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from core import clock

from ..dashboards.period import DEFAULT_DAYS, Period, last_days
from ..models import CustomersSnapshot
from .customers import Summary, rfm, summary, top_customers

MAX_AGE = dt.timedelta(minutes=10)  # two refreshes: a snapshot older than that is not shown


@dataclass(frozen=True)
class CustomersFigures:
    segments: list[dict[str, Any]]
    top: list[dict[str, Any]]
    now: Summary
    before: Summary
    computed_at: dt.datetime | None  # when the snapshot was computed; None: computed for this request


def compute(period: Period) -> CustomersFigures:
    scored = rfm(period)
    return CustomersFigures(scored.segment_counts(), top_customers(period, scored=scored), summary(period, scored),
                            summary(period.previous()), None)


def default_period(now: dt.datetime, currency: str | None = None) -> Period:
    return last_days(DEFAULT_DAYS, currency=currency, end=now.astimezone(dt.UTC).date())


def figures(period: Period, *, now: dt.datetime | None = None) -> CustomersFigures:
    """The snapshot's figures when it holds this very period and is at most MAX_AGE old, else computed."""
    now = now or clock.now()
    snapshot = CustomersSnapshot.objects.filter(
        start=period.start, end=period.end, currency=period.currency or "", computed_at__gte=now - MAX_AGE,
        computed_at__lte=now).first()
    return compute(period) if snapshot is None else _loaded(snapshot)


def dumped(figures: CustomersFigures) -> dict[str, Any]:
    """JSON of the figures: rates as strings, each summary's revenue as [captured, customers] per currency."""
    def summary_data(s: Summary) -> dict[str, Any]:
        return {"paying": s.paying_customers, "repeat": s.repeat_customers, "new": s.new_customers,
                "revenue": {c: list(v) for c, v in s.revenue.items()}}

    return {"segments": [{**row, "share": None if row["share"] is None else str(row["share"])}
                         for row in figures.segments],
            "top": figures.top, "now": summary_data(figures.now), "before": summary_data(figures.before)}


def _loaded(snapshot: CustomersSnapshot) -> CustomersFigures:
    data = snapshot.data

    def summary_of(s: dict[str, Any]) -> Summary:
        return Summary(s["paying"], s["repeat"], s["new"], {c: (v[0], v[1]) for c, v in s["revenue"].items()})

    return CustomersFigures(
        [{**row, "share": None if row["share"] is None else Decimal(row["share"])} for row in data["segments"]],
        data["top"], summary_of(data["now"]), summary_of(data["before"]), snapshot.computed_at)
