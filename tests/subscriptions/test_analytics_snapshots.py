"""The incremental MRR snapshots equal the plain definition: at each moment, each subscription's latest event
before it, summed per (currency, customer), with every key whose subscriptions' latest events sit under it."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict

import pytest

from subscriptions.selectors.analytics import _snapshots

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _by_definition(events, moments):
    out = []
    for moment in moments:
        latest = {}
        paid = set()
        for at, subscription, currency, customer, mrr in events:
            if at < moment:
                latest[subscription] = (currency, customer, mrr)
                if mrr > 0:
                    paid.add((currency, customer))
        state: dict[tuple[str, str], int] = defaultdict(int)
        for currency, customer, mrr in latest.values():
            state[(currency, customer)] += mrr
        out.append((dict(state), paid))
    return out


@pytest.mark.parametrize("seed", range(30))
def test_snapshots_match_the_definition(seed):
    rng = random.Random(seed)
    events = sorted(
        (T0 + dt.timedelta(hours=rng.randrange(2000)), f"sub_{rng.randrange(12)}", rng.choice(["EUR", "USD"]),
         f"cus_{rng.randrange(5)}", rng.choice([0, 0, 900, 1500, 4200]))
        for _ in range(rng.randrange(0, 80))
    )
    moments = sorted({T0 + dt.timedelta(hours=rng.randrange(2100)) for _ in range(6)})
    assert list(_snapshots(events, moments)) == _by_definition(events, moments)


def test_a_key_left_by_its_last_subscription_is_gone_and_a_canceled_one_stays_at_zero():
    events = [
        (T0, "sub_a", "EUR", "cus_1", 1000),
        (T0 + dt.timedelta(hours=1), "sub_b", "EUR", "cus_2", 500),
        (T0 + dt.timedelta(hours=2), "sub_a", "USD", "cus_1", 700),  # moved currency: the EUR key empties
        (T0 + dt.timedelta(hours=3), "sub_b", "EUR", "cus_2", 0),  # canceled: its key stays, at 0
    ]
    moments = [T0 + dt.timedelta(hours=h, minutes=30) for h in range(4)]
    assert [state for state, _paid in _snapshots(events, moments)] == [
        {("EUR", "cus_1"): 1000},
        {("EUR", "cus_1"): 1000, ("EUR", "cus_2"): 500},
        {("EUR", "cus_2"): 500, ("USD", "cus_1"): 700},
        {("EUR", "cus_2"): 0, ("USD", "cus_1"): 700},
    ]
