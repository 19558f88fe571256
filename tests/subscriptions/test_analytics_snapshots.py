"""The event-by-event MRR replay equals the plain definition: at each moment, each subscription's latest event
before it, summed per (currency, customer), with every key whose subscriptions' latest events sit under it;
the changes between two moments are the keys whose MRR differs, with whether they had paid before."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict

import pytest

from subscriptions.selectors.analytics import _replay

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _bucketed(events, moments):
    return [(sum(1 for m in moments if m <= at), *rest) for at, *rest in events]


def _states(events, moments):
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


def _by_definition(events, moments):
    states = _states(events, moments)
    out = []
    for i, (state, _paid) in enumerate(states):
        totals: dict[str, list[int]] = {}
        for (currency, _customer), mrr in state.items():
            total = totals.setdefault(currency, [0, 0, 0])
            total[0] += mrr
            total[1] += mrr > 0
            total[2] += 1
        before, paid_before = states[i - 1] if i else ({}, set())
        changes = {key: (before.get(key, 0), state.get(key, 0), key in paid_before)
                   for key in before.keys() | state.keys() if before.get(key, 0) != state.get(key, 0)}
        out.append(({c: tuple(t) for c, t in totals.items()}, changes))
    return out


def _replayed(events, moments):
    return [(m.totals, {k: v for k, v in m.changes.items() if v[0] != v[1]})
            for m in _replay(_bucketed(events, moments), len(moments))]


@pytest.mark.parametrize("seed", range(40))
def test_replay_matches_the_definition(seed):
    rng = random.Random(seed)
    events = sorted(
        (T0 + dt.timedelta(hours=rng.randrange(2000)), f"sub_{rng.randrange(12)}", rng.choice(["EUR", "USD"]),
         f"cus_{rng.randrange(5)}", rng.choice([0, 0, 900, 1500, 4200]))
        for _ in range(rng.randrange(0, 80))
    )
    # Some moments fall exactly on an event: an event at a moment is after it.
    moments = sorted({T0 + dt.timedelta(hours=rng.randrange(2100)) for _ in range(6)}
                     | ({events[0][0]} if events else set()))
    assert _replayed(events, moments) == _by_definition(events, moments)


def test_a_key_left_by_its_last_subscription_is_gone_and_a_canceled_one_stays_at_zero():
    events = [
        (T0, "sub_a", "EUR", "cus_1", 1000),
        (T0 + dt.timedelta(hours=1), "sub_b", "EUR", "cus_2", 500),
        (T0 + dt.timedelta(hours=2), "sub_a", "USD", "cus_1", 700),  # moved currency: the EUR key empties
        (T0 + dt.timedelta(hours=3), "sub_b", "EUR", "cus_2", 0),  # canceled: its key stays, at 0
    ]
    moments = [T0 + dt.timedelta(hours=h, minutes=30) for h in range(4)]
    assert [m.totals for m in _replay(_bucketed(events, moments), len(moments))] == [
        {"EUR": (1000, 1, 1)},
        {"EUR": (1500, 2, 2)},
        {"EUR": (500, 1, 1), "USD": (700, 1, 1)},
        {"EUR": (0, 0, 1), "USD": (700, 1, 1)},
    ]
