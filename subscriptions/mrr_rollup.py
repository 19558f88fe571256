"""The MRR months rollup (`MrrMonth`): every closed month's MRR movements per currency, stored from the whole
history so the subscriptions page and `subscription_analytics` replay only the current month's customers.
Derived data recomputed from the history, like the dashboards' rollups: not an operation, not audited."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from core import clock
from core.db import use_case, xact_lock

from .models import MrrMonth, MrrRollup, SubscriptionEvent
from .periods import add_months, month_start, months_between
from .selectors.analytics import replayed_months

_LOCK_ID = 0x6D72726D  # pg_advisory_xact_lock key: one refresh at a time


@dataclass(frozen=True)
class MrrMonthsRun:
    months: int  # closed months replayed
    rows: int  # (month, currency) rows stored
    through: dt.date  # the first month not stored: the refresh's own


@use_case
def mrr_months_refresh(*, now: dt.datetime | None = None) -> MrrMonthsRun:
    """Replays the whole history once and stores every month before `now`'s (all of them again: an event can be
    recorded with a past time, by `run_billing --now` for one). Nothing audited (derived data)."""
    now = now or clock.now()
    xact_lock(_LOCK_ID)
    current = month_start(now.astimezone(dt.UTC))
    first = SubscriptionEvent.objects.filter(at__lt=current).order_by("at").values_list("at", flat=True).first()
    rows: list[MrrMonth] = []
    months = 0
    if first is not None:
        first_month = month_start(first.astimezone(dt.UTC))
        months = months_between(first_month, current)
        closed = replayed_months(first_month, months, current - dt.timedelta(microseconds=1))
        for i, per_currency in enumerate(closed):
            month = add_months(first_month, i).date()
            rows += [MrrMonth(month=month, currency=currency, **sums) for currency, sums in per_currency.items()]
    MrrMonth.objects.all().delete()
    MrrMonth.objects.bulk_create(rows, batch_size=2000)
    MrrRollup.objects.update_or_create(pk=1, defaults={"refreshed_at": now, "through": current.date()})
    return MrrMonthsRun(months, len(rows), current.date())
