"""A seeded transaction simulator with injected, labelled fraud scenarios (docs/RISK.md).

Written from the published description of agent-based simulators (customers with habits, merchants
acting as terminals, Poisson daily activity) plus wallet typologies; nothing is copied. The same seed,
size and start give the same rows, byte for byte: every random draw comes from one generator, in a
fixed order.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np

SCENARIOS = ("card_testing", "account_takeover", "compromised_merchant", "velocity_spike", "mule_chain")
METHODS = ("card", "wallet", "wallet_transfer_in", "wallet_withdrawal")
CHANNELS = ("web", "app", "pos", "moto")
COUNTRIES = ("US", "GB", "DE", "FR", "NL", "ES", "IT", "CA")
COUNTRY_WEIGHTS = (0.35, 0.15, 0.12, 0.1, 0.07, 0.08, 0.08, 0.05)
CURRENCY_OF = {"US": "USD", "GB": "GBP", "CA": "USD"}
FRAUD_COUNTRIES = ("RU", "NG", "BR", "VN", "ID", "UA", "RO", "PH")
DAY = 86_400


@dataclass
class _Rows:
    """Column lists, one chunk per customer or per fraud event; concatenated at the end."""

    ts: list
    cust: list
    amount: list
    method: list
    merchant: list
    device: list
    ip: list
    channel: list
    status: list
    fraud: list
    scenario: list

    def add(self, ts, cust, amount, method, merchant, device, ip, channel, status=None, scenario=""):
        n = len(ts)
        self.ts.append(np.asarray(ts, dtype=np.int64))
        self.cust.append(np.full(n, cust, dtype=np.int64))
        self.amount.append(np.round(np.maximum(np.asarray(amount, dtype=float), 0.5), 2))
        for column, value, dtype in ((self.method, method, np.int64), (self.merchant, merchant, np.int64),
                                     (self.channel, channel, np.int64)):
            column.append(np.broadcast_to(np.asarray(value, dtype=dtype), (n,)).copy())
        self.device.append(np.broadcast_to(np.asarray(device, dtype=object), (n,)).copy())
        self.ip.append(np.broadcast_to(np.asarray(ip, dtype=object), (n,)).copy())
        self.status.append(np.zeros(n, dtype=bool) if status is None else np.asarray(status, dtype=bool))
        self.fraud.append(np.full(n, bool(scenario)))
        self.scenario.append(np.full(n, scenario, dtype=object))


def simulate(*, customers: int, days: int, seed: int, start: dt.date) -> list[dict]:
    """Rows of the JSON Lines format in time order, each fraud row naming its scenario."""
    rng = np.random.default_rng(seed)
    t0 = int(dt.datetime(start.year, start.month, start.day, tzinfo=dt.UTC).timestamp())
    n_merchants = max(30, customers // 8)
    merchant_pop = rng.zipf(1.6, n_merchants).clip(1, 200).astype(float)
    merchant_pop /= merchant_pop.sum()
    scale = customers / 1000
    rows = _Rows([], [], [], [], [], [], [], [], [], [], [])
    profiles = []
    for c in range(customers):
        profiles.append(_customer(rng, rows, c, seed, t0, days, n_merchants, merchant_pop))
    ids = [f"cus_{seed}_{c}" for c in range(customers)]
    homes = [p["home"] for p in profiles]
    cards = [p["card"] for p in profiles]
    currencies = [p["currency"] for p in profiles]

    def victim():
        return int(rng.integers(customers))

    for day in range(days):
        base = t0 + day * DAY
        for _ in range(rng.poisson(0.35 * scale)):  # card testing: a burst of tiny amounts, mostly declined
            v, e = victim(), len(rows.ts)
            k = int(rng.integers(8, 31))
            ts = base + int(rng.integers(DAY)) + np.cumsum(rng.exponential(40, k)).astype(np.int64)
            rows.add(ts, v, rng.uniform(0.5, 3.0, k), 0, int(rng.integers(n_merchants)), f"dev_{seed}_ct{e}",
                     rng.choice(FRAUD_COUNTRIES), 0, rng.random(k) < 0.6, "card_testing")
        for _ in range(rng.poisson(0.5 * scale)):  # account takeover: new device and country, big, cash out
            v, e = victim(), len(rows.ts)
            p, k = profiles[v], int(rng.integers(1, 4))
            start_ts = base + int(rng.integers(DAY))
            ts = start_ts + np.concatenate([[0], np.sort(rng.integers(600, 3 * 3600, k)),
                                            [3 * 3600 + int(rng.integers(60, 3600))]])
            amounts = np.concatenate([[rng.uniform(1, 10)], p["mean"] * rng.uniform(5, 20, k + 1)])
            methods = [1] + [0] * k + [3]
            merchants = [-1] + list(rng.integers(n_merchants, size=k)) + [-1]
            rows.add(ts, v, amounts, methods, merchants, f"dev_{seed}_ato{e}",
                     rng.choice([c for c in COUNTRIES if c != p["home"]] + list(FRAUD_COUNTRIES)), 1,
                     scenario="account_takeover")
        if rng.random() < scale / 45 or (day == days // 3 and scale < 1):  # compromised terminal
            m, length = int(rng.integers(n_merchants)), int(rng.integers(7, 22))
            for d in range(day, min(days, day + length)):
                k = int(rng.poisson(3 * scale + 2))
                for v in rng.integers(customers, size=k):
                    ts = t0 + d * DAY + int(rng.integers(DAY))
                    rows.add([ts], int(v), [profiles[v]["mean"] * rng.uniform(1.5, 5)], 0, m, "", "", 2,
                             scenario="compromised_merchant")
        for _ in range(rng.poisson(0.15 * scale)):  # velocity spike: many ordinary payments within hours
            v = victim()
            p = profiles[v]
            k = int(rng.integers(10, 41))
            ts = base + int(rng.integers(DAY)) + np.sort(rng.integers(0, int(rng.integers(1, 5)) * 3600, k))
            device = p["devices"][0] if rng.random() < 0.5 else f"dev_{seed}_vs{len(rows.ts)}"
            rows.add(ts, v, p["mean"] * rng.uniform(0.5, 2, k), 0, rng.integers(n_merchants, size=k), device,
                     p["home"], 0, scenario="velocity_spike")
        for _ in range(rng.poisson(0.2 * scale)):  # mule chain: fan-in of transfers, then a cash-out
            mule = len(ids)
            home = str(rng.choice(COUNTRIES, p=COUNTRY_WEIGHTS))
            ids.append(f"cus_{seed}_m{mule}")
            homes.append(home)
            cards.append(home)
            currencies.append(CURRENCY_OF.get(home, "EUR"))
            k = int(rng.integers(5, 21))
            ts = base + int(rng.integers(DAY)) + np.sort(rng.integers(0, int(rng.integers(6, 49)) * 3600, k))
            amounts = rng.uniform(50, 500, k)
            out_ts = ts[-1] + int(rng.integers(300, 3600))
            rows.add(np.append(ts, out_ts), mule, np.append(amounts, amounts.sum() * rng.uniform(0.9, 1.0)),
                     [2] * k + [3], -1, f"dev_{seed}_mule{mule}", home, 1, scenario="mule_chain")
    return _assemble(rows, seed, ids, homes, cards, currencies)


def _customer(rng, rows: _Rows, c: int, seed: int, t0: int, days: int, n_merchants: int, pop) -> dict[str, Any]:
    """One customer's habits and legitimate history (including the legitimate oddities fraud hides in)."""
    home = str(rng.choice(COUNTRIES, p=COUNTRY_WEIGHTS))
    card = home if rng.random() < 0.97 else str(rng.choice(COUNTRIES))
    p: dict[str, Any] = {"home": home, "card": card, "currency": CURRENCY_OF.get(card, "EUR"),
         "mean": float(np.exp(rng.uniform(np.log(8), np.log(150)))),
         "devices": [f"dev_{seed}_{c}_{k}" for k in range(int(rng.integers(1, 4)))]}
    sigma, rate = rng.uniform(0.3, 0.8), rng.uniform(0.2, 2.0)
    hour, spread = rng.uniform(8, 21), rng.uniform(1.5, 3.5)
    join = 0 if rng.random() < 0.8 else int(rng.integers(days))
    favourites = rng.choice(n_merchants, size=int(rng.integers(4, 16)), replace=False, p=pop)
    channel_mix = rng.dirichlet([3, 3, 3, 0.1])
    n = int(rng.poisson(rate * (days - join)))
    if n:
        day = np.sort(rng.integers(join, days, n))
        secs = ((hour + rng.normal(0, spread, n)) % 24 * 3600).astype(np.int64)
        amount = p["mean"] * np.exp(rng.normal(-sigma**2 / 2, sigma, n))
        amount = np.where(rng.random(n) < 0.02, amount * rng.uniform(3, 8, n), amount)
        channel = rng.choice(4, size=n, p=channel_mix)
        merchant = np.where(rng.random(n) < 0.05, rng.integers(n_merchants, size=n), rng.choice(favourites, n))
        device = np.array(p["devices"], dtype=object)[rng.integers(len(p["devices"]), size=n)]
        device = np.where(rng.random(n) < 0.005, np.array([f"dev_{seed}_{c}_n{i}" for i in range(n)],
                                                           dtype=object), device)
        ip = np.full(n, home, dtype=object)
        if rng.random() < 0.5:  # one trip abroad: another country for a few days
            trip = int(rng.integers(join, days))
            ip[(day >= trip) & (day < trip + int(rng.integers(3, 11)))] = str(rng.choice(COUNTRIES))
        pos = channel == 2
        device[pos], ip[pos] = "", ""
        rows.add(t0 + day * DAY + secs, c, amount, np.where(rng.random(n) < 0.15, 1, 0), merchant, device, ip,
                 channel, rng.random(n) < 0.02)
    if rng.random() < 0.1:  # legitimate transfers in (family, friends) and the odd withdrawal
        k = int(rng.poisson(0.03 * (days - join))) + 1
        ts = t0 + np.sort(rng.integers(join * DAY, days * DAY, k))
        rows.add(ts, c, rng.uniform(20, 300, k), 2, -1, p["devices"][0], home, 1)
        w = int(rng.poisson(0.01 * (days - join)))
        if w:
            rows.add(t0 + np.sort(rng.integers(join * DAY, days * DAY, w)), c, rng.uniform(50, 400, w), 3, -1,
                     p["devices"][0], home, 1)
    return p


def _assemble(rows: _Rows, seed, ids, homes, cards, currencies) -> list[dict]:
    cols = {name: np.concatenate(getattr(rows, name)) for name in _Rows.__dataclass_fields__}
    order = np.argsort(cols["ts"], kind="stable")
    out = []
    for n, i in enumerate(order):
        cust = int(cols["cust"][i])
        merchant, device, ip = int(cols["merchant"][i]), cols["device"][i], cols["ip"][i]
        row = {
            "id": f"tx_{seed}_{n:07d}", "customer_id": ids[cust],
            "timestamp": dt.datetime.fromtimestamp(int(cols["ts"][i]), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "amount": f"{cols['amount'][i]:.2f}", "currency": currencies[cust],
            "method": METHODS[cols["method"][i]], "merchant_id": f"mer_{seed}_{merchant}" if merchant >= 0 else None,
            "device_id": device or None, "ip_country": ip or None, "card_country": cards[cust],
            "channel": CHANNELS[cols["channel"][i]], "status": "declined" if cols["status"][i] else "succeeded",
            "is_fraud": bool(cols["fraud"][i]),
        }
        if cols["scenario"][i]:
            row["scenario"] = cols["scenario"][i]
        out.append(row)
    return out
