"""Features of one payment from stored payments: the same functions as the file path (features.py), run
over a small frame built from indexed queries.

One statement (a round trip, no ORM query building on the hot path) returns:
- the customer's payments of the last 31 days (`payment_customer_idx`): every customer window is at most
  30 days, and the first-use flags of the last day's rows look 30 days further back;
- the merchant's payments of the last day (`payment_merchant_idx`), and for each of their customers the
  latest earlier payment at the merchant (`payment_customer_idx`): what its first-time customers of the day
  need, so that a busy merchant's month is not read for every one of its payments;
- one row with the customer's first payment (account age) and the merchant's label counts older than the
  label delay (the days the triggers count, MerchantLabelDay, and the labelled payments of one day), and one
  with the merchant's count of the last 7 days (an index range counted in the database).

A stored payment's `fraud_label` is its label (review outcomes and lost disputes set it); its `status`
failed counts as a decline. "Earlier" is at millisecond resolution, as in the file path.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import NamedTuple

import numpy as np
from django.db import connection

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
    """Payment value rows (in _FIELDS order, the time in milliseconds) to a frame in time order."""
    rows = sorted(rows, key=lambda r: r[2])
    cols = list(zip(*rows, strict=True)) if rows else [()] * len(_FIELDS)
    obj = lambda values: np.array(values, dtype=object)  # noqa: E731
    return {
        "id": obj(cols[0]), "customer": obj(cols[1]),
        "ts": np.array(cols[2], dtype=np.int64),
        "amount": np.array([a / 10 ** CURRENCY_EXPONENTS.get(c, 2) for a, c in zip(cols[3], cols[4], strict=True)],
                           dtype=np.float64),
        "currency": obj(cols[4]), "method": obj(cols[5]), "merchant": obj(cols[6]), "device": obj(cols[7]),
        "ip_country": obj(cols[8]), "card_country": obj(cols[9]), "channel": obj(cols[10]),
        "status": obj(cols[11]),
        "label": np.array([np.nan if v is None else float(v) for v in cols[12]], dtype=np.float64),
        "scenario": obj([""] * len(rows)),
    }


def ms_sql(column: str, vendor: str) -> str:
    """SQL for a stored time as whole milliseconds since the epoch, floored as to_ms floors. The rows' times
    are read as numbers: parsing a busy customer's 1,700 timestamps one by one was a third of its score."""
    if vendor == "postgresql":
        return f"FLOOR(EXTRACT(EPOCH FROM {column}) * 1000)::bigint"  # numeric since PostgreSQL 14: exact
    # SQLite keeps Django's 'YYYY-MM-DD HH:MM:SS[.ffffff]' in UTC. Its date functions round to the millisecond
    # (.999999 s would be the next second): the whole seconds and the milliseconds' digits are read apart. '%%'
    # because the statement takes parameters.
    return (f"(CAST(strftime('%%s', substr({column}, 1, 19)) AS INTEGER) * 1000 "
            f"+ CAST(substr({column} || '.000', 21, 3) AS INTEGER))")


class _Statements(NamedTuple):
    with_merchant: str
    without_merchant: str


def _only(**columns: str) -> str:
    """A select list in _FIELDS order with the given expressions and NULL for every other field."""
    return ", ".join(columns.get(name, "NULL") for name in _FIELDS)


def _latest_ms(vendor: str, aggregate: str, source: str) -> str:
    # The aggregate over `created` itself, so that it is one index probe; its milliseconds outside.
    return f"(SELECT {ms_sql('m', vendor)} FROM (SELECT {aggregate}(created) AS m FROM {source}) x)"


def _statements(vendor: str) -> _Statements:
    """Part 0: the customer's recent rows; 1: the merchant's of the last day; 3: the latest earlier payment at the
    merchant of each customer in part 1; 2: one row of aggregates (first_seen, labelled, fraud); 4: the merchant's
    count of the last 7 days (in the labelled column). Every time is in milliseconds. PostgreSQL types a bare NULL
    as text when it meets another NULL first: the aggregates' are cast. The parameters are named (stored_history
    gives them): the statement uses the same moments and ids in several places."""
    created = ms_sql("created", vendor)
    # Of the customer's rows, what customer_features reads of the earlier ones: not the id, the card's country,
    # the channel or the label (the last three are features of the scored payment's own row).
    mine = _only(customer_id="customer_id", created=created, amount="amount", currency="currency",
                 method="method", merchant_reference="merchant_reference", device_id="device_id",
                 ip_country="ip_country", status="status")
    day_row = _only(customer_id="customer_id", created=created)
    earlier_row = _only(customer_id="c.customer_id", created=_latest_ms(
        vendor, "MAX", "payments_payment q WHERE q.customer_id = c.customer_id AND q.merchant_reference = %(merchant)s "
                       "AND q.created < %(day)s AND q.created >= %(since)s AND q.id <> %(pid)s"))
    no_row = _only()
    no_aggregates = "CAST(NULL AS BIGINT), CAST(NULL AS INTEGER), CAST(NULL AS INTEGER)"
    customer = (f"SELECT 0, {mine}, {no_aggregates} FROM payments_payment "
                "WHERE customer_id = %(me)s AND created < %(before)s AND created >= %(since)s AND id <> %(pid)s")
    merchant_day = (f"SELECT 1, {day_row}, {no_aggregates} FROM payments_payment "
                    "WHERE merchant_reference = %(merchant)s AND created < %(before)s AND created >= %(day)s "
                    "AND id <> %(pid)s")
    merchant_earlier = (f"SELECT 3, {earlier_row}, {no_aggregates} FROM (SELECT DISTINCT customer_id "
                        "FROM payments_payment WHERE merchant_reference = %(merchant)s AND created < %(before)s "
                        "AND created >= %(day)s AND id <> %(pid)s) c")
    first = _latest_ms(vendor, "MIN", "payments_payment WHERE customer_id = %(me)s AND created < %(before)s "
                                      "AND id <> %(pid)s")
    # The label counts older than `old`: the triggers' counts of the days before its day, that day's labelled
    # payments before it, and the scored payment itself taken back out when a count of an earlier day holds it.
    fraud = "COALESCE(SUM(CASE WHEN fraud_label THEN 1 ELSE 0 END), 0)"
    labels = ("SELECT COALESCE(SUM(labelled), 0) AS labelled, COALESCE(SUM(fraud), 0) AS fraud "
              "FROM payments_merchantlabelday WHERE merchant_reference = %(merchant)s AND day < %(old_day)s "
              f"UNION ALL SELECT COUNT(*), {fraud} FROM payments_payment WHERE merchant_reference = %(merchant)s "
              "AND created >= %(old_day_start)s AND created < %(old)s AND fraud_label IS NOT NULL AND id <> %(pid)s "
              f"UNION ALL SELECT -COUNT(*), -{fraud} FROM payments_payment WHERE id = %(pid)s "
              "AND merchant_reference = %(merchant)s AND created < %(old_day_start)s AND fraud_label IS NOT NULL")
    aggregates = (f"SELECT 2, {no_row}, {first}, CAST(SUM(lab.labelled) AS BIGINT), CAST(SUM(lab.fraud) AS BIGINT) "
                  f"FROM ({labels}) lab")
    week = (f"SELECT 4, {no_row}, CAST(NULL AS BIGINT), COUNT(*), 0 FROM payments_payment "
            "WHERE merchant_reference = %(merchant)s AND created < %(before)s AND created >= %(week)s "
            "AND id <> %(pid)s")
    only_first = f"SELECT 2, {no_row}, {first}, 0, 0"
    return _Statements(
        with_merchant=(f"{customer} UNION ALL {merchant_day} UNION ALL {merchant_earlier} UNION ALL {aggregates} "
                       f"UNION ALL {week}"),
        without_merchant=f"{customer} UNION ALL {only_first}")


_STATEMENTS = {vendor: _statements(vendor) for vendor in ("postgresql", "sqlite")}


class History(NamedTuple):
    """What one statement returns of a payment's past; every time in milliseconds since the epoch."""

    mine: list[tuple]  # the customer's payments of the last 31 days, in _FIELDS order (None where not read)
    merchant_day: list[tuple]  # the merchant's payments of the last day: (customer, ms)
    merchant_earlier: dict[str, int]  # per customer of those: its latest earlier payment at the merchant
    merchant_week: int  # the merchant's payments of the last 7 days
    first: int | None  # the customer's first payment
    labelled: int  # the merchant's labelled payments older than the label delay
    fraud: int  # of which fraud


def stored_history(ctx, t: int) -> History:
    """The payment's past before millisecond `t`, in one statement; the payment being scored again
    (ctx.payment_id) is left out. "Within the last N" means at a millisecond after t - N, as features.Windows
    counts: from the first microsecond of millisecond t - N + 1."""
    adapt = connection.ops.adapt_datetimefield_value
    params = {"me": ctx.customer_id, "pid": ctx.payment_id or "", "before": adapt(from_ms(t)),
              "since": adapt(from_ms(t - HISTORY + 1))}
    statements = _STATEMENTS[connection.vendor]
    if ctx.merchant_reference:
        sql = statements.with_merchant
        old = from_ms(t - LABEL_DELAY + 1)
        old_day_start = old.replace(hour=0, minute=0, second=0, microsecond=0)
        params.update(merchant=ctx.merchant_reference, day=adapt(from_ms(t - DAY + 1)),
                      week=adapt(from_ms(t - 7 * DAY + 1)), old=adapt(old), old_day_start=adapt(old_day_start),
                      old_day=connection.ops.adapt_datefield_value(old.date()))
    else:
        sql = statements.without_merchant
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        fetched = cursor.fetchall()
    mine: list[tuple] = []
    merchant_day: list[tuple] = []
    earlier: dict[str, int] = {}
    first, labelled, fraud, week_count = None, 0, 0, 0
    for part, *values in fetched:
        if part == 0:
            mine.append(tuple(values[:-3]))
        elif part == 1:
            merchant_day.append((values[1], values[2]))
        elif part == 3 and values[2] is not None:
            earlier[values[1]] = values[2]
        elif part == 2:
            first, labelled, fraud = values[-3], int(values[-2] or 0), int(values[-1] or 0)
        elif part == 4:
            week_count = int(values[-2] or 0)
    return History(mine, merchant_day, earlier, week_count, first, labelled, fraud)


def _merchant_online(history: History) -> dict[str, float]:
    """The merchant features of the payment, from the day's rows and the counts: what merchant_features computes
    over the merchant's whole 31 days, row for row. A payment of the day is a customer's first at the merchant
    when no payment of theirs there is at an earlier millisecond within LOOKBACK."""
    moments: dict[str, Counter[int]] = {}
    for customer, ms in history.merchant_day:
        moments.setdefault(customer, Counter())[ms] += 1
    new_customers = 0
    for customer, counted in moments.items():
        previous = history.merchant_earlier.get(customer)
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
    current = (ctx.payment_id or "_current", ctx.customer_id, t, ctx.amount, ctx.currency, ctx.method,
               ctx.merchant_reference, ctx.device_id, ctx.ip_country, ctx.card_country, ctx.channel, "", None)
    history = stored_history(ctx, t)
    frame = _frame([*history.mine, current])
    first_ms = t if history.first is None else min(history.first, t)
    cust = customer_features(frame, first_seen=np.full(len(frame["ts"]), first_ms, dtype=np.float64))
    out = {name: float(cust[name][-1]) for name in CUSTOMER_FEATURES}
    if not ctx.merchant_reference:
        out.update(dict.fromkeys(MERCHANT_FEATURES, float("nan")))
        return out
    out.update(_merchant_online(history))
    return out
