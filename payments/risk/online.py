"""Features of one payment from stored payments: the same functions as the file path (features.py), run
over a small frame built from indexed queries.

One statement (a round trip, no ORM query building on the hot path) returns:
- the customer's payments of the last 31 days (`payment_customer_idx`): every customer window is at most
  30 days, and the first-use flags of the last day's rows look 30 days further back;
- the merchant's payments of the last day (`payment_merchant_idx`), and for each of their customers the
  latest earlier payment at the merchant (`payment_customer_idx`): what its first-time customers of the day
  need, so that a busy merchant's month is not read for every one of its payments;
- one row with the customer's first payment (account age) and the merchant's label counts older than the
  label delay (one scan of the merchant's index range), and one with the merchant's count of the last 7 days
  (an index range counted in the database).

A stored payment's `fraud_label` is its label (review outcomes and lost disputes set it); its `status`
failed counts as a decline. "Earlier" is at millisecond resolution, as in the file path.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import NamedTuple

import numpy as np
from django.db import connection
from django.utils.dateparse import parse_datetime

from core import clock
from core.money import CURRENCY_EXPONENTS

from .features import (
    CUSTOMER_FEATURES,
    DAY,
    LABEL_DELAY,
    LOOKBACK,
    MERCHANT_FEATURES,
    customer_features,
    merchant_values,
)

HISTORY = LOOKBACK + DAY
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MS = dt.timedelta(milliseconds=1)
_FIELDS = ("id", "customer_id", "created", "amount", "currency", "method", "merchant_reference", "device_id",
           "ip_country", "card_country", "channel", "status", "fraud_label")


def to_ms(moment: dt.datetime) -> int:
    return (moment - _EPOCH) // _MS


def from_ms(ms: int) -> dt.datetime:
    return _EPOCH + ms * _MS


def _frame(rows: list[tuple]) -> dict[str, np.ndarray]:
    """Payment value rows (in _FIELDS order) to a frame in time order."""
    rows = sorted(rows, key=lambda r: r[2])
    cols = list(zip(*rows, strict=True)) if rows else [()] * len(_FIELDS)
    obj = lambda values: np.array(values, dtype=object)  # noqa: E731
    return {
        "id": obj(cols[0]), "customer": obj(cols[1]),
        "ts": np.array([to_ms(c) for c in cols[2]], dtype=np.int64),
        "amount": np.array([a / 10 ** CURRENCY_EXPONENTS.get(c, 2) for a, c in zip(cols[3], cols[4], strict=True)],
                           dtype=np.float64),
        "currency": obj(cols[4]), "method": obj(cols[5]), "merchant": obj(cols[6]), "device": obj(cols[7]),
        "ip_country": obj(cols[8]), "card_country": obj(cols[9]), "channel": obj(cols[10]),
        "status": obj(cols[11]),
        "label": np.array([np.nan if v is None else float(v) for v in cols[12]], dtype=np.float64),
        "scenario": obj([""] * len(rows)),
    }


_COLUMNS = ", ".join(_FIELDS)


def _only(**columns: str) -> str:
    """A select list in _FIELDS order with the given expressions and NULL for every other field."""
    return ", ".join(columns.get(name, "NULL") for name in _FIELDS)


_NO_ROW = _only()
# The merchant's payments of the day and the latest earlier one of each of their customers there: only the
# customer and the time are read of them.
_DAY_ROW = _only(customer_id="customer_id", created="created")
_EARLIER_ROW = _only(customer_id="c.customer_id", created="(SELECT MAX(created) FROM payments_payment q WHERE "
                     "q.customer_id = c.customer_id AND q.merchant_reference = %s AND q.created < %s AND "
                     "q.created >= %s AND q.id <> %s)")
# Part 0: the customer's recent rows; 1: the merchant's of the last day; 3: the latest earlier payment at the
# merchant of each customer in part 1; 2: one row of aggregates (first_seen, labelled, fraud); 4: the merchant's
# count of the last 7 days (in the labelled column). The rows' branches come first so that SQLite takes the
# column types (datetimes) from a table. PostgreSQL types a bare NULL as text when it meets another NULL first:
# the aggregates' are cast.
_NO_AGGREGATES = "CAST(NULL AS TIMESTAMP WITH TIME ZONE), CAST(NULL AS INTEGER), CAST(NULL AS INTEGER)"
_CUSTOMER = (f"SELECT 0, {_COLUMNS}, {_NO_AGGREGATES} FROM payments_payment "
             "WHERE customer_id = %s AND created < %s AND created >= %s AND id <> %s")
_MERCHANT_DAY = (f"SELECT 1, {_DAY_ROW}, {_NO_AGGREGATES} FROM payments_payment "
                 "WHERE merchant_reference = %s AND created < %s AND created >= %s AND id <> %s")
_MERCHANT_EARLIER = (f"SELECT 3, {_EARLIER_ROW}, {_NO_AGGREGATES} FROM (SELECT DISTINCT customer_id "
                     "FROM payments_payment WHERE merchant_reference = %s AND created < %s AND created >= %s "
                     "AND id <> %s) c")
_FIRST = "(SELECT MIN(created) FROM payments_payment WHERE customer_id = %s AND created < %s AND id <> %s)"
_AGGREGATES = (f"SELECT 2, {_NO_ROW}, {_FIRST}, lab.labelled, lab.fraud FROM ("
               "SELECT COUNT(*) AS labelled, COALESCE(SUM(CASE WHEN fraud_label THEN 1 ELSE 0 END), 0) AS fraud "
               "FROM payments_payment WHERE merchant_reference = %s AND created < %s AND fraud_label IS NOT NULL "
               "AND id <> %s) lab")
_WEEK = (f"SELECT 4, {_NO_ROW}, CAST(NULL AS TIMESTAMP WITH TIME ZONE), COUNT(*), 0 FROM payments_payment "
         "WHERE merchant_reference = %s AND created < %s AND created >= %s AND id <> %s")
_AGGREGATES_ONLY_FIRST = f"SELECT 2, {_NO_ROW}, {_FIRST}, 0, 0"
WITH_MERCHANT = (f"{_CUSTOMER} UNION ALL {_MERCHANT_DAY} UNION ALL {_MERCHANT_EARLIER} UNION ALL {_AGGREGATES} "
                 f"UNION ALL {_WEEK}")
WITHOUT_MERCHANT = f"{_CUSTOMER} UNION ALL {_AGGREGATES_ONLY_FIRST}"


class History(NamedTuple):
    """What one statement returns of a payment's past (rows in _FIELDS order, times aware)."""

    mine: list[tuple]  # the customer's payments of the last 31 days
    merchant_day: list[tuple]  # the merchant's payments of the last day: (customer, time)
    merchant_earlier: dict[str, dt.datetime]  # per customer of those: its latest earlier payment at the merchant
    merchant_week: int  # the merchant's payments of the last 7 days
    first: dt.datetime | None  # the customer's first payment
    labelled: int  # the merchant's labelled payments older than the label delay
    fraud: int  # of which fraud


def _aware(value) -> dt.datetime | None:
    # PostgreSQL gives aware datetimes; SQLite gives naive UTC ones, or text where it knows no column type.
    if value is None or isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value
    moment = value if isinstance(value, dt.datetime) else parse_datetime(str(value))
    return moment.replace(tzinfo=dt.UTC) if moment is not None and moment.tzinfo is None else moment


def stored_history(ctx, t: int) -> History:
    """The payment's past before millisecond `t`, in one statement; the payment being scored again
    (ctx.payment_id) is left out. "Within the last N" means at a millisecond after t - N, as features.Windows
    counts: from the first microsecond of millisecond t - N + 1."""
    adapt = connection.ops.adapt_datetimefield_value
    before, since = adapt(from_ms(t)), adapt(from_ms(t - HISTORY + 1))
    day, week = adapt(from_ms(t - DAY + 1)), adapt(from_ms(t - 7 * DAY + 1))
    old = adapt(from_ms(t - LABEL_DELAY + 1))
    me, pid, merchant = ctx.customer_id, ctx.payment_id or "", ctx.merchant_reference
    if merchant:
        sql = WITH_MERCHANT
        params = [me, before, since, pid, merchant, before, day, pid, merchant, day, since, pid,
                  merchant, before, day, pid, me, before, pid, merchant, old, pid, merchant, before, week, pid]
    else:
        sql, params = WITHOUT_MERCHANT, [me, before, since, pid, me, before, pid]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        fetched = cursor.fetchall()
    mine: list[tuple] = []
    merchant_day: list[tuple] = []
    earlier: dict[str, dt.datetime] = {}
    first, labelled, fraud, week_count = None, 0, 0, 0
    for part, *values in fetched:
        if part == 0:
            values = values[:-3]
            values[2] = _aware(values[2])
            values[12] = None if values[12] is None else bool(values[12])
            mine.append(tuple(values))
        elif part == 1:
            merchant_day.append((values[1], _aware(values[2])))
        elif part == 3 and (moment := _aware(values[2])) is not None:
            earlier[values[1]] = moment
        elif part == 2:
            first, labelled, fraud = _aware(values[-3]), int(values[-2] or 0), int(values[-1] or 0)
        elif part == 4:
            week_count = int(values[-2] or 0)
    return History(mine, merchant_day, earlier, week_count, first, labelled, fraud)


def _merchant_online(history: History) -> dict[str, float]:
    """The merchant features of the payment, from the day's rows and the counts: what merchant_features computes
    over the merchant's whole 31 days, row for row. A payment of the day is a customer's first at the merchant
    when no payment of theirs there is at an earlier millisecond within LOOKBACK."""
    moments: dict[str, Counter[int]] = {}
    for customer, at in history.merchant_day:
        moments.setdefault(customer, Counter())[to_ms(at)] += 1
    new_customers = 0
    for customer, counted in moments.items():
        earlier = history.merchant_earlier.get(customer)
        previous = None if earlier is None else to_ms(earlier)
        # Payments of one millisecond are not earlier than each other: they share one flag.
        for ms in sorted(counted):
            if previous is None or previous <= ms - LOOKBACK:
                new_customers += counted[ms]
            previous = ms
    return {name: float(value) for name, value in merchant_values(
        n_labelled=float(history.labelled), n_fraud=float(history.fraud), count_24h=float(len(history.merchant_day)),
        count_7d=float(history.merchant_week), new_customers_24h=new_customers).items()}


def features_for(ctx) -> dict[str, float]:
    """The feature values (name -> float, NaN when unknown) of the payment described by a RiskContext."""
    at = ctx.at or clock.now()
    t = to_ms(at)
    current = (ctx.payment_id or "_current", ctx.customer_id, from_ms(t), ctx.amount, ctx.currency, ctx.method,
               ctx.merchant_reference, ctx.device_id, ctx.ip_country, ctx.card_country, ctx.channel, "", None)
    history = stored_history(ctx, t)
    frame = _frame([*history.mine, current])
    first_ms = min(to_ms(history.first), t) if history.first else t
    cust = customer_features(frame, first_seen=np.full(len(frame["ts"]), first_ms, dtype=np.float64))
    out = {name: float(cust[name][-1]) for name in CUSTOMER_FEATURES}
    if not ctx.merchant_reference:
        out.update(dict.fromkeys(MERCHANT_FEATURES, float("nan")))
        return out
    out.update(_merchant_online(history))
    return out
