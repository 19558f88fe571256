"""Fraud features, vectorised over a frame, each computed as of its row's time from strictly earlier rows.

The one code path of training, evaluation and online scoring: online scoring builds a frame of the
customer's stored history plus the payment being scored and runs the same functions (the merchant's
aggregates, which need other customers' rows, come from `merchant_features` over the merchant's rows or
from the equivalent indexed counts). "Earlier" means an earlier timestamp: rows at the same millisecond
do not see each other. A label counts only once it is `label_delay` old, as in production where a fraud
label arrives days after the payment.
"""

from __future__ import annotations

import numpy as np

HOUR = 3_600_000
DAY = 24 * HOUR
LOOKBACK = 30 * DAY
LABEL_DELAY = 7 * DAY
METHOD_CODES = {m: i for i, m in enumerate(("card", "wallet", "wallet_transfer_in", "wallet_withdrawal",
                                            "bank_transfer"))}
CHANNEL_CODES = {c: i for i, c in enumerate(("web", "app", "pos", "moto"))}
DECLINED = ("declined", "failed")
TRANSFER_IN = "wallet_transfer_in"

CUSTOMER_FEATURES = (
    "amount_log", "amount_z", "amount_ratio", "history_30d", "count_1h", "count_24h", "count_7d", "sum_1h",
    "sum_24h", "avg_daily_30d", "hours_since_prev", "new_device", "new_ip_country", "new_merchant",
    "new_devices_24h", "new_countries_24h", "country_mismatch", "hour", "hour_deviation", "account_age_days",
    "declines_1h", "declines_24h", "inflow_count_24h", "inflow_sum_24h", "amount_vs_inflow", "method",
    "channel",
)
MERCHANT_FEATURES = ("merchant_fraud_rate", "merchant_labelled", "merchant_count_24h", "merchant_new_customers_24h",
                     "merchant_spike")
FEATURES = CUSTOMER_FEATURES + MERCHANT_FEATURES


class Windows:
    """Per-group look-backs over rows sorted by (group, time): counts and sums of strictly earlier rows."""

    def __init__(self, group: np.ndarray, ts: np.ndarray):
        n = len(ts)
        self.n = n
        base = int(ts.min()) if n else 0
        span = (int(ts.max()) - base if n else 0) + LOOKBACK + 1
        if len(group) and int(group.max()) >= (2**62) // span:
            raise ValueError("Too many groups for the time span to index.")
        self.order = np.lexsort((np.arange(n), ts, group))
        self.key = group[self.order].astype(np.int64) * span + (ts[self.order] - base + LOOKBACK)
        self.group_start = np.searchsorted(self.key, group[self.order].astype(np.int64) * span, "left")
        self.hi = np.searchsorted(self.key, self.key, "left")  # first row at this row's time: earlier = [lo, hi)

    def lo(self, window: int) -> np.ndarray:
        return np.maximum(np.searchsorted(self.key, self.key - window, "right"), self.group_start)

    def until(self, age: int) -> np.ndarray:
        """End of the rows at least `age` old (rows [group_start, until))."""
        return np.maximum(np.searchsorted(self.key, self.key - age, "right"), self.group_start)

    def _back(self, sorted_values: np.ndarray) -> np.ndarray:
        out = np.empty_like(sorted_values)
        out[self.order] = sorted_values
        return out

    def count(self, window: int, mask: np.ndarray | None = None) -> np.ndarray:
        if mask is None:
            return self._back((self.hi - self.lo(window)).astype(np.float64))
        return self.sum(mask.astype(np.int64), window)

    def sum(self, values: np.ndarray, window: int, end: np.ndarray | None = None) -> np.ndarray:
        """Sums of integer values (fixed point) over each row's window: exact, so a row's features do not
        depend on which other rows share the frame (file or online history)."""
        if values.dtype != np.int64:
            raise TypeError("Window sums take int64 (fixed-point) values.")
        c = np.concatenate([[0], np.cumsum(values[self.order])])
        start = self.lo(window) if window else self.group_start
        return self._back((c[self.hi if end is None else end] - c[start]).astype(np.float64))

    def previous_ts(self, ts: np.ndarray) -> np.ndarray:
        """Time of the group's latest strictly earlier row (NaN when none)."""
        idx = self.hi - 1
        has = idx >= self.group_start
        out = np.full(self.n, np.nan)
        out[has] = ts[self.order][idx[has]]
        return self._back(out)

    def first_ts(self, ts: np.ndarray) -> np.ndarray:
        return self._back(ts[self.order][self.group_start].astype(np.float64))


def codes(*columns: np.ndarray) -> np.ndarray:
    """Integer codes of the distinct values (of tuples, for several columns), numbered as they first appear: they
    only name groups, whose order no result depends on. A dict does it without sorting Python objects."""
    keys = columns[0] if len(columns) == 1 else zip(*columns, strict=True)
    seen: dict = {}
    return np.fromiter((seen.setdefault(key, len(seen)) for key in keys), dtype=np.int64, count=len(columns[0]))


def first_use(customer, value, ts) -> np.ndarray:
    """1 when the customer has not used this value in the look-back, NaN when the value is unknown."""
    seen = Windows(codes(customer, value), ts).count(LOOKBACK)
    return np.where(value == "", np.nan, (seen == 0).astype(np.float64))


def _fixed(values: np.ndarray, scale: float) -> np.ndarray:
    return np.round(values * scale).astype(np.int64)


def _ratio(a, b):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1), np.nan)


def customer_features(frame: dict[str, np.ndarray], first_seen: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Features from the customer's own earlier rows. `first_seen` (ms, per row) replaces the frame's first
    row of each customer as the account's start when the frame holds only recent history."""
    ts = frame["ts"]
    amount = np.minimum(frame["amount"], 1e9)  # bounded so fixed-point sums cannot overflow
    cents = _fixed(amount, 100)
    cust = codes(frame["customer"])
    w = Windows(cust, ts)
    n30 = w.count(LOOKBACK)
    mean = _ratio(w.sum(cents, LOOKBACK), n30) / 100
    log_q = _fixed(np.log1p(amount), 10_000)  # the spread is measured on log amounts (they are skewed)
    log_mean = _ratio(w.sum(log_q, LOOKBACK), n30)
    log_std = np.sqrt(np.maximum(_ratio(w.sum(log_q * log_q, LOOKBACK), n30) - log_mean * log_mean, 0)) / 10_000
    new_device = first_use(frame["customer"], frame["device"], ts)
    new_country = first_use(frame["customer"], frame["ip_country"], ts)
    hour = (ts % DAY) / HOUR
    angle = hour * (2 * np.pi / 24)
    mean_angle = np.arctan2(w.sum(_fixed(np.sin(angle), 1e6), LOOKBACK), w.sum(_fixed(np.cos(angle), 1e6), LOOKBACK))
    deviation = np.abs(((hour - mean_angle * 24 / (2 * np.pi)) + 12) % 24 - 12)
    declined = np.isin(frame["status"], DECLINED)
    inflow = frame["method"] == TRANSFER_IN
    inflow_sum = w.sum(np.where(inflow, cents, 0), DAY) / 100
    prev = w.previous_ts(ts)
    first = w.first_ts(ts) if first_seen is None else first_seen
    return {
        "amount_log": np.log1p(amount),
        "amount_z": np.where(n30 > 0, (log_q - log_mean) / 10_000 / (log_std + 0.05), np.nan),
        "amount_ratio": _ratio(amount, mean),
        "history_30d": n30,
        "count_1h": w.count(HOUR),
        "count_24h": w.count(DAY),
        "count_7d": w.count(7 * DAY),
        "sum_1h": w.sum(cents, HOUR) / 100,
        "sum_24h": w.sum(cents, DAY) / 100,
        "avg_daily_30d": n30 / 30,
        "hours_since_prev": (ts - prev) / HOUR,
        "new_device": new_device,
        "new_ip_country": new_country,
        "new_merchant": first_use(frame["customer"], frame["merchant"], ts),
        "new_devices_24h": w.sum(np.nan_to_num(new_device).astype(np.int64), DAY),
        "new_countries_24h": w.sum(np.nan_to_num(new_country).astype(np.int64), DAY),
        "country_mismatch": np.where((frame["ip_country"] == "") | (frame["card_country"] == ""), np.nan,
                                     (frame["ip_country"] != frame["card_country"]).astype(np.float64)),
        "hour": hour,
        "hour_deviation": np.where(n30 > 0, deviation, np.nan),
        "account_age_days": (ts - first) / DAY,
        "declines_1h": w.count(HOUR, declined),
        "declines_24h": w.count(DAY, declined),
        "inflow_count_24h": w.count(DAY, inflow),
        "inflow_sum_24h": inflow_sum,
        "amount_vs_inflow": _ratio(amount, inflow_sum),
        "method": _category(frame["method"], METHOD_CODES),
        "channel": _category(frame["channel"], CHANNEL_CODES),
    }


def _category(values: np.ndarray, vocabulary: dict[str, int]) -> np.ndarray:
    """Known categories by code, unseen ones as one "other" code, unknown (empty) as NaN."""
    other = len(vocabulary)
    out = np.array([vocabulary.get(v, other) for v in values], dtype=np.float64)
    out[values == ""] = np.nan
    return out


def merchant_features(frame: dict[str, np.ndarray], new_merchant: np.ndarray) -> dict[str, np.ndarray]:
    """The merchant's earlier rows: fraud rate among labels at least LABEL_DELAY old (smoothed towards 1%),
    volume and first-time customers in the last day against its last week. The online path reads the same
    counts from the database (online._merchant_online)."""
    ts, merchant = frame["ts"], frame["merchant"]
    w = Windows(codes(merchant), ts)
    end = w.until(LABEL_DELAY)
    n_labelled = w.sum((~np.isnan(frame["label"])).astype(np.int64), 0, end=end)
    n_fraud = w.sum(np.nan_to_num(frame["label"]).astype(np.int64), 0, end=end)
    out = merchant_values(n_labelled=n_labelled, n_fraud=n_fraud, count_24h=w.count(DAY), count_7d=w.count(7 * DAY),
                          new_customers_24h=w.sum(np.nan_to_num(new_merchant).astype(np.int64), DAY))
    known = merchant != ""
    return {name: np.where(known, values, np.nan) for name, values in out.items()}


def merchant_values(*, n_labelled, n_fraud, count_24h, count_7d, new_customers_24h) -> dict:
    """The merchant features from its counts (arrays over a frame, or one payment's numbers as the online path
    reads them): one formula for both, so that they agree to the bit."""
    return {
        "merchant_fraud_rate": (n_fraud + 0.2) / (n_labelled + 20),
        "merchant_labelled": n_labelled,
        "merchant_count_24h": count_24h,
        "merchant_new_customers_24h": new_customers_24h,
        "merchant_spike": count_24h / (count_7d / 7 + 1),
    }


def feature_matrix(frame: dict[str, np.ndarray]) -> np.ndarray:
    """The model's input for every row of a frame (float32, C order, columns in FEATURES order)."""
    cust = customer_features(frame)
    merch = merchant_features(frame, cust["new_merchant"])
    return np.column_stack([cust[n] for n in CUSTOMER_FEATURES] + [merch[n] for n in MERCHANT_FEATURES]
                           ).astype(np.float32)
