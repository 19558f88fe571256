"""Billing periods: exact calendar arithmetic, documented because customers read the dates.

A subscription's periods are counted from its billing-cycle anchor: period n runs from
`advance(anchor, n)` to `advance(anchor, n + 1)`, always computed from the anchor (never
from the previous end), so a short month does not pull later periods earlier.

Months and years keep the anchor's day of month; when the target month is shorter, the
period ends on that month's last day (at the anchor's time of day). So a subscription
started on 31 January renews on 28 February (29 in a leap year), then 31 March, 30 April;
one started on 29 February renews on 28 February in a non-leap year. Days and weeks are
exact multiples of 24 h and 7 x 24 h in UTC.
"""

from __future__ import annotations

import calendar
import datetime as dt
from typing import TypeVar

# A day or a moment: the dashboards' cohorts step month starts (dates), billing steps moments.
_Day = TypeVar("_Day", bound=dt.date)

MONTHS_PER = {"month": 1, "year": 12}
DAYS_PER = {"day": 1, "week": 7}


def add_months(moment: _Day, months: int) -> _Day:
    index = moment.year * 12 + (moment.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def month_start(moment: _Day) -> _Day:
    """The first day of `moment`'s month (at midnight, for a moment: in its own time zone)."""
    if isinstance(moment, dt.datetime):
        return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return moment.replace(day=1)


def months_between(first: dt.date, later: dt.date) -> int:
    """Whole calendar months from `first`'s month to `later`'s (0 in the same month)."""
    return (later.year - first.year) * 12 + later.month - first.month


def advance(anchor: dt.datetime, interval: str, interval_count: int, n: int) -> dt.datetime:
    """The boundary n intervals after the anchor (n may be negative)."""
    if interval in MONTHS_PER:
        return add_months(anchor, MONTHS_PER[interval] * interval_count * n)
    if interval in DAYS_PER:
        return anchor + dt.timedelta(days=DAYS_PER[interval] * interval_count * n)
    raise ValueError(f"unknown interval {interval!r}")


def period_bounds(anchor: dt.datetime, interval: str, interval_count: int,
                  index: int) -> tuple[dt.datetime, dt.datetime]:
    return advance(anchor, interval, interval_count, index), advance(anchor, interval, interval_count, index + 1)
