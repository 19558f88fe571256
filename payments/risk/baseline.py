"""The rules-only baseline: the product's rule set (`rules_scorer`) applied to the file format's fields.

Mapping (docs/RISK.md): the customer is taken as active (the format has no status); `amount` is converted
to minor units with the currency's exponent (2 for a currency the product does not know); `channel` and
`device_id` pass through; `ip_country` present stands for a known IP address (the rules only ask whether
there is one). The score is the rules' 0-99 points.
"""

from __future__ import annotations

import numpy as np

from core.money import CURRENCY_EXPONENTS

from . import RiskContext, rules_scorer


def rules_scores(frame: dict[str, np.ndarray]) -> np.ndarray:
    memo: dict[tuple, int] = {}
    out = np.empty(len(frame["ts"]), dtype=np.float64)
    columns = zip(frame["amount"], frame["currency"], frame["method"], frame["channel"], frame["device"] != "",
                  frame["ip_country"] != "", strict=True)
    for i, (amount, currency, method, channel, has_device, has_ip) in enumerate(columns):
        exp = CURRENCY_EXPONENTS.get(currency, 2)
        key = (round(amount * 10**exp), currency if currency in CURRENCY_EXPONENTS else "USD", method, channel,
               has_device, has_ip)
        score = memo.get(key)
        if score is None:
            ctx = RiskContext(customer_id="", customer_status="active", amount=key[0], currency=key[1], method=method,
                              channel=channel, device_id="d" if has_device else "",
                              ip_address="192.0.2.1" if has_ip else None)
            score = memo[key] = rules_scorer(ctx).score
        out[i] = score
    return out
