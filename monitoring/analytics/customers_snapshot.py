"""The customers page's RFM figures (segments, top customers, the period's and the previous period's summary):
read from the snapshot a job keeps for the default period (`monitoring.models.CustomersSnapshot`, every five
minutes) when it is that period and fresh, computed otherwise. Scoring a month's paying customers costs about a
second at a million payments; a rollup cannot help a period that may start on any day."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, replace
from decimal import Decimal
from typing import Any

from core import clock

from ..dashboards.period import DEFAULT_DAYS, Period, last_days
from ..models import CustomersSnapshot
from .customers import TOP_CUSTOMERS, Summary, new_customers, ranked, rfm, summary, with_names

MAX_AGE = dt.timedelta(minutes=10)  # two refreshes: a snapshot older than that is not shown


@dataclass(frozen=True)
class CustomersFigures:
    segments: list[dict[str, Any]]
    top: list[dict[str, Any]]
    now: Summary
    before: Summary
    computed_at: dt.datetime | None  # when the snapshot was computed; None: computed for this request


def compute(period: Period) -> CustomersFigures:
    """The figures computed from the payments; the top customers without their names (`figures` adds them)."""
    scored = rfm(period)
    return CustomersFigures(scored.segment_counts(), ranked(scored, TOP_CUSTOMERS), summary(period, scored),
                            summary(period.previous()), None)


def default_period(now: dt.datetime) -> Period:
    return last_days(DEFAULT_DAYS, end=now.astimezone(dt.UTC).date())


def figures(period: Period, *, now: dt.datetime | None = None) -> CustomersFigures:
    """The snapshot's figures when it holds this very period and is at most MAX_AGE old, else computed. Names and
    sign-ups are read now either way: the snapshot keeps no personal data, and the new-customers tiles agree with
    the new-customers chart computed beside them."""
    now = now or clock.now()
    snapshot = CustomersSnapshot.objects.filter(
        start=period.start, end=period.end, currency=period.currency or "", computed_at__gte=now - MAX_AGE).first()
    if snapshot is None:
        computed = compute(period)
        return replace(computed, top=with_names(computed.top))
    stored = _loaded(snapshot)
    return replace(stored, top=with_names(stored.top),
                   now=replace(stored.now, new_customers=new_customers(period)),
                   before=replace(stored.before, new_customers=new_customers(period.previous())))


def dumped(figures: CustomersFigures) -> dict[str, Any]:
    """JSON of the figures: rates as strings (Decimal in JSON would be a float)."""
    return {"segments": [{**row, "share": None if row["share"] is None else str(row["share"])}
                         for row in figures.segments],
            "top": figures.top, "now": asdict(figures.now), "before": asdict(figures.before)}


def _loaded(snapshot: CustomersSnapshot) -> CustomersFigures:
    data = snapshot.data

    def summary_of(d: dict[str, Any]) -> Summary:
        return Summary(**{**d, "revenue": {c: (v[0], v[1]) for c, v in d["revenue"].items()}})

    return CustomersFigures(
        [{**row, "share": None if row["share"] is None else Decimal(row["share"])} for row in data["segments"]],
        data["top"], summary_of(data["now"]), summary_of(data["before"]), snapshot.computed_at)
