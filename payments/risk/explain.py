"""A score's explanation in words: XGBoost's own per-feature contributions (`pred_contribs`, in log-odds),
the features that pushed the score up most, each with its value, the customer's usual value where there is
one, and a sentence a risk analyst reads."""

from __future__ import annotations

import math

import numpy as np
import xgboost as xgb

TOP = 4

# feature -> (sentence with {value}, how to show "usual" from the other features or None)
_TEXT = {
    "amount_log": ("amount {amount:.2f}", None),
    "amount_z": ("amount {value:.1f} spreads from the customer's usual amount", lambda f: 0.0),
    "amount_ratio": ("amount is {value:.1f}x the customer's average", lambda f: 1.0),
    "history_30d": ("{value:.0f} payments in the last 30 days", None),
    "count_1h": ("{value:.0f} payments in the last hour", lambda f: f["avg_daily_30d"] / 24),
    "count_24h": ("{value:.0f} payments in the last 24 hours", lambda f: f["avg_daily_30d"]),
    "count_7d": ("{value:.0f} payments in the last 7 days", lambda f: f["avg_daily_30d"] * 7),
    "sum_1h": ("{value:.2f} spent in the last hour", None),
    "sum_24h": ("{value:.2f} spent in the last 24 hours", None),
    "avg_daily_30d": ("{value:.1f} payments a day over 30 days", None),
    "hours_since_prev": ("{value:.2f} hours since the previous payment",
                         lambda f: 24 / f["avg_daily_30d"] if f["avg_daily_30d"] else None),
    "new_device": ("{flag} device not used by the customer in 30 days", lambda f: 0.0),
    "new_ip_country": ("{flag} IP country not used by the customer in 30 days", lambda f: 0.0),
    "new_merchant": ("{flag} merchant not used by the customer in 30 days", lambda f: 0.0),
    "new_devices_24h": ("{value:.0f} new devices in the last 24 hours", lambda f: 0.0),
    "new_countries_24h": ("{value:.0f} new IP countries in the last 24 hours", lambda f: 0.0),
    "country_mismatch": ("IP country {differs} the card's country", lambda f: 0.0),
    "hour": ("paid at {value:.0f}h UTC", None),
    "hour_deviation": ("{value:.1f} hours away from the customer's usual time of day", None),
    "account_age_days": ("account {value:.0f} days old", None),
    "declines_1h": ("{value:.0f} declined payments in the last hour", lambda f: 0.0),
    "declines_24h": ("{value:.0f} declined payments in the last 24 hours", lambda f: 0.0),
    "inflow_count_24h": ("{value:.0f} transfers received in the last 24 hours", None),
    "inflow_sum_24h": ("{value:.2f} received in the last 24 hours", None),
    "amount_vs_inflow": ("amount is {value:.0%} of what was received in the last 24 hours", None),
    "method": ("payment method", None),
    "channel": ("channel", None),
    "merchant_fraud_rate": ("merchant's confirmed fraud rate {value:.1%}", lambda f: 0.01),
    "merchant_labelled": ("{value:.0f} of the merchant's payments have a known outcome", None),
    "merchant_count_24h": ("{value:.0f} payments at the merchant in the last 24 hours", None),
    "merchant_new_customers_24h": ("{value:.0f} first-time customers at the merchant in the last 24 hours", None),
    "merchant_spike": ("merchant volume {value:.1f}x its daily average of the last week", lambda f: 1.0),
}


def _number(value: float) -> float | None:
    return None if value is None or math.isnan(value) else round(float(value), 4)


def text(name: str, value: float, values: dict[str, float]) -> str:
    template, _ = _TEXT.get(name, ("{value}", None))
    if math.isnan(value):
        return f"{name} unknown"
    amount = math.expm1(min(value, 700.0)) if name == "amount_log" else 0.0  # only amount_log is a log
    return template.format(value=value, amount=amount, flag="a" if value else "no",
                           differs="differs from" if value else "matches")


def explain(booster: xgb.Booster, X: np.ndarray, names: list[str], values: dict[str, float],
            top: int = TOP) -> list[dict]:
    """The features that raised the score most (positive contributions only), largest first."""
    # One thread: a DMatrix built with the default (all cores) costs tens of milliseconds on a busy machine.
    contribs = booster.predict(xgb.DMatrix(X, feature_names=list(names), nthread=1), pred_contribs=True)[0][:-1]
    order = [i for i in np.argsort(-contribs, kind="stable") if contribs[i] > 0][:top]
    out = []
    for i in order:
        name = names[i]
        value = values.get(name, float("nan"))
        usual_of = _TEXT.get(name, ("", None))[1]
        usual = usual_of(values) if usual_of else None
        out.append({"feature": name, "value": _number(value), "usual": _number(usual) if usual is not None else None,
                    "contribution": round(float(contribs[i]), 4),
                    "text": text(name, value, values) + (f"; usual: {usual:.2g}" if usual is not None else "")})
    return out
