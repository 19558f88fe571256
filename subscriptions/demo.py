"""Demo subscriptions: plans and a year of history made by the real billing code.

Signups, upgrades, downgrades, quantity changes, cancellations, pauses and failing cards are
scheduled over the last 365 days; between them `billing_run` runs every other day "as of"
that day (`clock.frozen_at`), so invoices, payments, dunning and analytics are what the
services produce. Idempotent: demo subscriptions carry `metadata.demo`, and a second run
finds them and stops.
"""

from __future__ import annotations

import datetime as dt
import time

from accounts.demo import HISTORY_DAYS
from accounts.models import Customer
from core import clock
from core.context import Actor
from core.errors import DomainError

from . import services
from .models import Plan, Subscription

PLANS = [  # name, amount, currency, interval, trial_days
    ("Starter", 900, "USD", "month", 0), ("Team", 2900, "USD", "month", 14), ("Business", 9900, "USD", "month", 0),
    ("Team annual", 29000, "USD", "year", 0), ("Team EUR", 2500, "EUR", "month", 14),
    ("Business EUR", 8900, "EUR", "month", 0),
]
LADDERS = {"USD": ["Starter", "Team", "Business"], "EUR": ["Team EUR", "Business EUR"]}
SIGNUPS = 150
DAYS = HISTORY_DAYS  # the demo's longest history: the customers signed up before it
STEP_DAYS = 2


def _plans(actor: Actor) -> dict[str, Plan]:
    existing = {p.name: p for p in Plan.objects.filter(metadata__demo=True)}
    for name, amount, currency, interval, trial in PLANS:
        if name not in existing:
            existing[name] = services.plan_create(actor=actor, name=name, amount=amount, currency=currency,
                                                  interval=interval, trial_days=trial, metadata={"demo": True})
    return existing


def _customers() -> list[Customer]:
    # The accounts demo's customers (seeded first); some hold several subscriptions over the year.
    return list(Customer.objects.filter(email__endswith="@demo.example").order_by("email"))


def _schedule(rng, start: dt.datetime) -> list[tuple[dt.datetime, str, int]]:
    events = []
    for i in range(SIGNUPS):
        signup = start + dt.timedelta(days=rng.uniform(0, DAYS - 20), hours=rng.randint(8, 20))
        events.append((signup, "signup", i))
        for kind, chance in (("upgrade", 0.25), ("downgrade", 0.12), ("quantity", 0.15), ("cancel", 0.2),
                             ("card_fails", 0.12), ("pause", 0.05)):
            if rng.random() < chance:
                events.append((signup + dt.timedelta(days=rng.uniform(5, 200)), kind, i))
    return sorted(events)


def _act(rng, actor: Actor, plans: dict[str, Plan], subs: dict[int, str], kind: str, i: int,
         customers: list[Customer]) -> None:
    if kind == "signup":
        currency = "EUR" if rng.random() < 0.3 else "USD"
        name = rng.choice(LADDERS[currency] + (["Team annual"] if currency == "USD" else []))
        token = "tok_decline_insufficient_funds" if rng.random() < 0.05 else rng.choice(["tok_visa", "tok_mastercard"])
        sub = services.subscription_create(actor=actor, customer_id=customers[i % len(customers)].id,
                                           plan_id=plans[name].id, quantity=rng.choice([1, 1, 1, 2, 3, 5]),
                                           payment_method=token, metadata={"demo": True})
        subs[i] = sub.id
        return
    if i not in subs:
        return
    sub = Subscription.objects.select_related("plan").get(pk=subs[i])
    ladder = LADDERS.get(sub.plan.currency, [])
    if kind in ("upgrade", "downgrade") and sub.plan.name in ladder:
        step = 1 if kind == "upgrade" else -1
        index = ladder.index(sub.plan.name) + step
        if 0 <= index < len(ladder):
            services.subscription_change(actor=actor, subscription_id=sub.id, plan_id=plans[ladder[index]].id,
                                         proration_behavior=rng.choice(["create_prorations", "always_invoice"]))
    elif kind == "quantity":
        services.subscription_change(actor=actor, subscription_id=sub.id,
                                     quantity=max(1, sub.quantity + rng.choice([-1, 1, 2])))
    elif kind == "cancel":
        services.subscription_cancel(actor=actor, subscription_id=sub.id, at_period_end=rng.random() < 0.6)
    elif kind == "card_fails":
        token = rng.choice(["tok_decline_insufficient_funds", "tok_decline_generic", "tok_decline_expired"])
        services.subscription_set_payment_source(actor=actor, subscription_id=sub.id, payment_method=token)
    elif kind == "pause":
        services.subscription_pause(actor=actor, subscription_id=sub.id)


def seed(*, rng, stdout) -> None:
    if Subscription.objects.filter(metadata__demo=True).exists():
        stdout.write("  subscriptions: demo history already present")
        return
    customers = _customers()
    if not customers:
        stdout.write("  subscriptions: no demo customers (the accounts demo seeds them first); skipped")
        return
    started = time.monotonic()
    actor = Actor.system("seed_demo")
    end = clock.now().replace(microsecond=0)
    start = end - dt.timedelta(days=DAYS)
    with clock.frozen_at(start):
        plans = _plans(actor)
    events = _schedule(rng, start)
    subs: dict[int, str] = {}
    refused = 0
    moment = start
    while moment < end:
        moment = min(moment + dt.timedelta(days=STEP_DAYS), end)
        while events and events[0][0] <= moment:
            at, kind, i = events.pop(0)
            with clock.frozen_at(at):
                try:
                    _act(rng, actor, plans, subs, kind, i, customers)
                except DomainError:
                    # e.g. changing a subscription that has since been canceled: a refusal, like in real life.
                    refused += 1
        with clock.frozen_at(moment):
            services.billing_run(actor=actor, triggered_by="seed_demo")
    from .churn import train

    model = train()
    trained = f"{model.version} ({model.status})" if model else "not trained (too little history)"
    stdout.write(f"  subscriptions: {len(subs)} subscriptions over {DAYS} days, {refused} refused actions, "
                 f"churn model {trained}, "
                 f"{time.monotonic() - started:.1f}s")
