"""Proration to the second (DESIGN.md "Billing").

For a change at moment t inside the period [start, end): the old price earns a credit for
its unused time and the new price a charge for the rest, each `price x remaining seconds /
period seconds` rounded half-up to the minor unit, one line per price. Integer arithmetic
only: no float ever touches money.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Line:
    description: str
    period_start: dt.datetime
    period_end: dt.datetime
    quantity: int
    unit_amount: int
    amount: int
    currency: str
    proration: bool
    plan_id: str


def round_half_up_ratio(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half away from zero (numerator may be negative)."""
    sign = -1 if numerator < 0 else 1
    return sign * ((2 * abs(numerator) + denominator) // (2 * denominator))


def prorate(total: int, remaining_seconds: int, period_seconds: int) -> int:
    return round_half_up_ratio(total * remaining_seconds, period_seconds)


def proration_lines(*, at: dt.datetime, period_start: dt.datetime, period_end: dt.datetime, currency: str,
                    old_plan, old_quantity: int, new_plan, new_quantity: int) -> list[Line]:
    period = int((period_end - period_start).total_seconds())
    remaining = int((period_end - at).total_seconds())
    if remaining <= 0 or period <= 0:
        return []
    lines = []
    old_total = old_plan.amount * old_quantity
    new_total = new_plan.amount * new_quantity
    if old_total:
        lines.append(Line(f"Unused time on {old_quantity} x {old_plan.name}", at, period_end, old_quantity,
                          old_plan.amount, -prorate(old_total, remaining, period), currency, True, old_plan.id))
    if new_total:
        lines.append(Line(f"Remaining time on {new_quantity} x {new_plan.name}", at, period_end, new_quantity,
                          new_plan.amount, prorate(new_total, remaining, period), currency, True, new_plan.id))
    return lines
