"""Features of one payment from stored payments: the same functions as the file path (features.py), run
over a small frame built from indexed queries.

- the customer's payments of the last 31 days (`payment_customer_idx`): every customer window is at most
  30 days, and the first-use flags of the last day's rows look 30 days further back;
- the customer's first payment (account age);
- the merchant's payments of the last 31 days (`payment_merchant_idx`) for its volume and first-time
  customers, and its label counts older than the label delay (one aggregate query).

A stored payment's `fraud_label` is its label (review outcomes and lost disputes set it); its `status`
failed counts as a decline. "Earlier" is at millisecond resolution, as in the file path.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
from django.db.models import Count, Q

from core import clock
from core.money import CURRENCY_EXPONENTS

from .features import (
    CUSTOMER_FEATURES,
    DAY,
    LABEL_DELAY,
    LOOKBACK,
    MERCHANT_FEATURES,
    customer_features,
    first_use,
    merchant_features,
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


def features_for(ctx) -> dict[str, float]:
    """The feature values (name -> float, NaN when unknown) of the payment described by a RiskContext."""
    from payments.models import Payment

    at = ctx.at or clock.now()
    t = to_ms(at)
    before = from_ms(t)  # strictly earlier: an earlier millisecond
    current = (ctx.payment_id or "_current", ctx.customer_id, from_ms(t), ctx.amount, ctx.currency, ctx.method,
               ctx.merchant_reference, ctx.device_id, ctx.ip_country, ctx.card_country, ctx.channel, "", None)
    mine = Payment.objects.filter(customer_id=ctx.customer_id, created__lt=before,
                                  created__gte=from_ms(t - HISTORY + 1)).exclude(pk=ctx.payment_id)
    frame = _frame([*mine.values_list(*_FIELDS), current])
    first = (Payment.objects.filter(customer_id=ctx.customer_id, created__lt=before).exclude(pk=ctx.payment_id)
             .order_by("created").values_list("created", flat=True).first())
    first_ms = min(to_ms(first), t) if first else t
    cust = customer_features(frame, first_seen=np.full(len(frame["ts"]), first_ms, dtype=np.float64))
    out = {name: float(cust[name][-1]) for name in CUSTOMER_FEATURES}
    out.update(_merchant(ctx, t, before, current))
    return out


def _merchant(ctx, t: int, before: dt.datetime, current: tuple) -> dict[str, float]:
    from payments.models import Payment

    if not ctx.merchant_reference:
        return dict.fromkeys(MERCHANT_FEATURES, float("nan"))
    # The merchant's recent rows, and each of their customers' earlier rows at this merchant (first-use flags).
    recent = Payment.objects.filter(merchant_reference=ctx.merchant_reference, created__lt=before,
                                    created__gte=from_ms(t - HISTORY + 1)).exclude(pk=ctx.payment_id)
    frame = _frame([*recent.values_list(*_FIELDS), current])
    new_merchant = first_use(frame["customer"], frame["merchant"], frame["ts"])
    counts = Payment.objects.filter(merchant_reference=ctx.merchant_reference, created__lt=from_ms(t - LABEL_DELAY + 1),
                                    fraud_label__isnull=False).exclude(pk=ctx.payment_id).aggregate(
        labelled=Count("pk"), fraud=Count("pk", filter=Q(fraud_label=True)))
    n = len(frame["ts"])
    labels = (np.full(n, float(counts["labelled"])), np.full(n, float(counts["fraud"])))
    merch = merchant_features(frame, new_merchant, labels=labels)
    return {name: float(merch[name][-1]) for name in MERCHANT_FEATURES}
