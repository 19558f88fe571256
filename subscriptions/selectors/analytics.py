"""Subscription analytics from the subscription history (`SubscriptionEvent`) and invoices.

Definitions (all per currency, amounts in minor units):
- MRR of a subscription: its price normalised to a month (year / 12, week x 52 / 12,
  day x 365 / 12, divided by interval_count, rounded half-up), while active or past_due.
  ARR = 12 x MRR.
- Movements of a month, per customer (MRR summed over the customer's subscriptions), from
  the instant before the month to the instant before the next: new (0 -> >0, never paid
  before), reactivation (0 -> >0, paid before), expansion, contraction, churn (>0 -> 0).
- Logo churn rate: customers churned / customers paying at the month's start. Revenue churn
  rate: (churn + contraction) / MRR at start. Net revenue retention: (MRR at start +
  expansion - contraction - churn) / MRR at start. Rates are decimal strings, 4 places.
- ARPU: MRR / paying customers now, rounded half-up.
- Trial conversion: trials that ended in the window whose first invoice after the trial
  was paid, over all trials that ended in the window.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import connection
from django.db.models import Case, F, IntegerField, Value, When
from django.db.models import Window as Over
from django.db.models.functions import Lag

from core import clock

from ..models import Invoice, MrrMonth, MrrRollup, Subscription, SubscriptionEvent
from ..periods import add_months, month_start
from ..proration import round_half_up_ratio
from ..services.common import PAYING


def _rate(numerator: int, denominator: int) -> str | None:
    if not denominator:
        return None
    return str((Decimal(numerator) / Decimal(denominator)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


@dataclass
class _Moment:
    """The MRR state at one moment: per currency [MRR, paying customers, (currency, customer) keys], and the
    keys that changed since the previous moment: key -> (MRR then, MRR now, paid at some point before then)."""

    totals: dict[str, tuple[int, int, int]]
    changes: dict[tuple[str, str], tuple[int, int, bool]]


def _replay(events: list[tuple[int, str, str, str, int]], moments: int):
    """For each of `moments` ascending moments, in one pass over the events `(bucket, subscription, currency,
    customer, mrr)` ordered by time, `bucket` being how many of the moments are at or before the event: the MRR
    per (currency, customer) is the sum of its subscriptions' latest events before the moment; a key exists
    while some subscription's latest event is under it (at MRR 0 too). Totals and changes are kept event by
    event, so a month costs its own events, not a pass over every customer."""
    latest: dict[str, tuple[tuple[str, str], int]] = {}
    state: dict[tuple[str, str], int] = {}
    members: dict[tuple[str, str], int] = defaultdict(int)
    paid: set[tuple[str, str]] = set()
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    position, count = 0, len(events)

    def change(key: tuple[str, str], delta: int, member_delta: int) -> None:
        old = state.get(key)
        members[key] += member_delta
        new = None
        if members[key]:
            new = state[key] = (old or 0) + delta
        else:
            del state[key], members[key]
        total = totals[key[0]]
        total[0] += (new or 0) - (old or 0)
        total[1] += ((new or 0) > 0) - ((old or 0) > 0)
        total[2] += (new is not None) - (old is not None)

    for moment in range(moments):
        started: dict[tuple[str, str], tuple[int, bool]] = {}
        while position < count and events[position][0] <= moment:
            _bucket, subscription, currency, customer, mrr = events[position]
            position += 1
            key = (currency, customer)
            before = latest.get(subscription)
            touched = (key,) if before is None else (before[0], key)
            for one in touched:
                if one not in started:
                    started[one] = (state.get(one, 0), one in paid)
            if before is not None:
                change(before[0], -before[1], -1)
            change(key, mrr, 1)
            latest[subscription] = (key, mrr)
            if mrr > 0:
                paid.add(key)
        yield _Moment({currency: (t[0], t[1], t[2]) for currency, t in totals.items() if t[2]},
                      {key: (then, state.get(key, 0), paid_then) for key, (then, paid_then) in started.items()})


def _history(as_of: dt.datetime, moments: list[dt.datetime],
             touched_since: dt.datetime | None = None) -> list[tuple[int, str, str, str, int]]:
    """The history up to `as_of` in time order, each event's time replaced by its bucket among the ascending
    `moments` (computed by the database: loading a hundred thousand time stamps costs more than the rest).
    `touched_since`: only the customers with an event between it and `as_of` (their whole history)."""
    bucket = Case(*[When(at__lt=moment, then=Value(i)) for i, moment in enumerate(moments)],
                  default=Value(len(moments)), output_field=IntegerField())
    events = SubscriptionEvent.objects.filter(at__lte=as_of)
    if touched_since is not None:
        touched = SubscriptionEvent.objects.filter(at__gte=touched_since, at__lte=as_of).values("customer_id")
        events = events.filter(customer_id__in=touched)
    return list(events.order_by("at", "id").annotate(bucket=bucket)
                .values_list("bucket", "subscription_id", "currency", "customer_id", "mrr"))


Totals = dict[str, tuple[int, int, int]]  # currency -> (MRR, paying customers, customers with a subscription)
MOVEMENTS = ("new", "reactivation", "expansion", "contraction", "churn", "customers_churned")


def month_movements(before: Totals, after: Totals, changes: dict[tuple[str, str], tuple[int, int, bool]]
                    ) -> dict[str, dict[str, int]]:
    """A month's movements per currency (every currency with customers at its start or end), from the totals at
    its start and end and the changed (currency, customer) keys."""
    per_currency: dict[str, dict[str, int]] = {}
    for currency in sorted(before.keys() | after.keys()):
        mrr_start, customers_start, _ = before.get(currency, (0, 0, 0))
        mrr_end, customers_end, keys_end = after.get(currency, (0, 0, 0))
        per_currency[currency] = dict(mrr_start=mrr_start, mrr_end=mrr_end, customers_start=customers_start,
                                      customers_end=customers_end, keys_end=keys_end, **dict.fromkeys(MOVEMENTS, 0))
    for key, (s0, s1, paid_before) in changes.items():
        if s0 == s1:  # also a key that came and went within the month: its currency may have no row
            continue
        row = per_currency[key[0]]
        if s0 == 0 and s1 > 0:
            row["reactivation" if paid_before else "new"] += s1
        elif s0 > 0 and s1 == 0:
            row["churn"] += s0
            row["customers_churned"] += 1
        elif s1 > s0:
            row["expansion"] += s1 - s0
        elif s1 < s0:
            row["contraction"] += s0 - s1
    return per_currency


def replayed_months(first_month: dt.datetime, months: int, as_of: dt.datetime) -> list[dict[str, dict[str, int]]]:
    """The movements of `months` months from `first_month`, the last one up to `as_of`, replaying the whole
    history (what the MRR months rollup stores for closed months)."""
    # Each month's start, then the instant after as_of: a month ends where the next starts, the last at now.
    moments = [add_months(first_month, i) for i in range(months)] + [as_of + dt.timedelta(microseconds=1)]
    replayed = list(_replay(_history(as_of, moments), len(moments)))
    return [month_movements(replayed[i].totals, replayed[i + 1].totals, replayed[i + 1].changes)
            for i in range(months)]


def _current_month(month: dt.datetime, as_of: dt.datetime, start: Totals) -> dict[str, dict[str, int]]:
    """The movements of `as_of`'s month up to `as_of` from the totals at its start (stored), replaying only the
    customers with an event in it: the others' MRR did not change, so the totals move by the replayed ones'."""
    moments = [month, as_of + dt.timedelta(microseconds=1)]
    before, after = _replay(_history(as_of, moments, touched_since=month), len(moments))
    end = dict(start)
    for currency in before.totals.keys() | after.totals.keys():
        then, now = before.totals.get(currency, (0, 0, 0)), after.totals.get(currency, (0, 0, 0))
        base = end.get(currency, (0, 0, 0))
        end[currency] = (base[0] + now[0] - then[0], base[1] + now[1] - then[1], base[2] + now[2] - then[2])
    return month_movements(start, {c: t for c, t in end.items() if t[2]}, after.changes)


def _stored_months(first_month: dt.datetime, months: int, as_of: dt.datetime
                   ) -> tuple[list[dict[str, dict[str, int]]], Totals] | None:
    """From the MRR months rollup: the movements of the months from `first_month` up to `as_of`'s month
    (exclusive), and the totals at the start of `as_of`'s month; None when the rollup does not hold them."""
    rollup = MrrRollup.objects.filter(pk=1).first()
    current = month_start(as_of).date()
    if rollup is None or rollup.through < current:
        return None
    previous = add_months(current, -1)
    stored: dict[dt.date, dict[str, dict[str, int]]] = defaultdict(dict)
    fields = ("mrr_start", "mrr_end", "customers_start", "customers_end", "keys_end", *MOVEMENTS)
    rows = MrrMonth.objects.filter(month__gte=min(first_month.date(), previous), month__lte=previous)
    for month, currency, *values in rows.values_list("month", "currency", *fields):
        stored[month][currency] = dict(zip(fields, values, strict=True))
    closed = [stored.get(add_months(first_month, i).date(), {}) for i in range(months - 1)]
    start = {c: (r["mrr_end"], r["customers_end"], r["keys_end"]) for c, r in stored.get(previous, {}).items()
             if r["keys_end"]}
    return closed, start


def subscription_analytics(*, months: int = 12, as_of: dt.datetime | None = None) -> dict:
    as_of = (as_of or clock.now()).astimezone(dt.UTC)  # months are UTC months, as the MRR months rollup stores them
    first_month = add_months(month_start(as_of), -(months - 1))
    stored = _stored_months(first_month, months, as_of)
    if stored is None:
        per_month = replayed_months(first_month, months, as_of)
    else:
        closed, start = stored
        per_month = [*closed, _current_month(month_start(as_of), as_of, start)]
    mrr_rows = []
    for currency, end in sorted(per_month[-1].items()):
        if not end["keys_end"]:
            continue
        mrr, paying = end["mrr_end"], end["customers_end"]
        arpu = round_half_up_ratio(mrr, paying) if paying else 0
        mrr_rows.append({"currency": currency, "mrr": mrr, "arr": mrr * 12, "paying_customers": paying,
                         "arpu": arpu})

    movements = []
    for i, per_currency in enumerate(per_month):
        month = add_months(first_month, i).strftime("%Y-%m")
        for currency, sums in sorted(per_currency.items()):
            row: dict[str, Any] = {
                "month": month, "currency": currency, "mrr_start": sums["mrr_start"], "mrr_end": sums["mrr_end"],
                **{k: sums[k] for k in ("new", "expansion", "contraction", "churn", "reactivation")},
                "customers_start": sums["customers_start"], "customers_churned": sums["customers_churned"]}
            row["net_new"] = row["new"] + row["reactivation"] + row["expansion"] - row["contraction"] - row["churn"]
            row["logo_churn_rate"] = _rate(row["customers_churned"], row["customers_start"])
            row["revenue_churn_rate"] = _rate(row["churn"] + row["contraction"], row["mrr_start"])
            row["net_revenue_retention"] = _rate(
                row["mrr_start"] + row["expansion"] - row["contraction"] - row["churn"], row["mrr_start"])
            movements.append(row)

    trials = Subscription.objects.filter(trial_end__gte=first_month, trial_end__lte=as_of)
    ended = list(trials.values_list("id", "trial_end"))
    paid = set(Invoice.objects.filter(subscription_id__in=[s for s, _ in ended], status=Invoice.Status.PAID,
                                      billing_reason=Invoice.Reason.CYCLE)
               .values_list("subscription_id", "period_start"))
    converted = sum(1 for sid, trial_end in ended if (sid, trial_end) in paid)
    return {
        "as_of": as_of, "months": months, "mrr": mrr_rows, "movements": movements,
        "trial_conversion": {"trials_ended": len(ended), "converted": converted,
                             "rate": _rate(converted, len(ended))},
    }


def mrr_at(instants: dict[str, dt.datetime], currency: str | None = None) -> dict[str, dict[str, Any]]:
    """Per named instant: paying subscriptions (active or past_due) and MRR per currency, in one query over the
    history (the dashboards' overview reads it): each event adds the change it made to its subscription (its MRR
    minus the previous event's, LAG over the subscription), so the state at an instant is the sum of the changes
    before it. (A correlated "latest event before the instant"
    subquery per instant took seconds at 40,000 events.) A subscription keeps its plan's currency: a plan
    change within a subscription never changes the currency."""
    history: Any = {"partition_by": [F("subscription_id")], "order_by": [F("at").asc(), F("id").asc()]}
    paying = Case(When(status__in=PAYING, then=Value(1)), default=Value(0), output_field=IntegerField())
    qs = SubscriptionEvent.objects.filter(at__lt=max(instants.values()))
    if currency:
        qs = qs.filter(currency=currency)
    qs = qs.annotate(
        paying=paying,
        mrr_change=F("mrr") - Over(Lag("mrr", default=0), **history),
        paying_change=paying - Over(Lag(paying, default=0), **history),
    )
    # Grouping over a window function needs the window in a subquery, which the ORM writes only for an
    # ungrouped aggregate(): the outer GROUP BY is written here, over the ORM's own (parametrised) SQL.
    # No ORDER BY inside (the model's ordering would sort the whole history a second time for nothing).
    inner, params = qs.values("currency", "at", "mrr_change", "paying_change").order_by().query.sql_with_params()
    names = list(instants)
    sums = ", ".join(
        "SUM(CASE WHEN h.at < %s THEN h.mrr_change END), SUM(CASE WHEN h.at < %s THEN h.paying_change END)"
        for _ in names
    )
    moments = [connection.ops.adapt_datetimefield_value(instants[n]) for n in names for _ in range(2)]
    sql = f"SELECT h.currency, {sums} FROM ({inner}) h GROUP BY h.currency ORDER BY h.currency"
    out: dict[str, dict[str, Any]] = {name: {"active": 0, "mrr": {}} for name in names}
    with connection.cursor() as cursor:
        cursor.execute(sql, [*moments, *params])
        for currency_code, *values in cursor.fetchall():
            for i, name in enumerate(names):
                mrr, active = values[2 * i], values[2 * i + 1]
                out[name]["active"] += int(active or 0)
                if mrr:
                    out[name]["mrr"][currency_code] = int(mrr)
    return out
