"""Analytics with exact values over three months of controlled history."""

import datetime as dt

import pytest

from subscriptions import selectors, services
from tests.factories import CustomerFactory

from .conftest import at

pytestmark = pytest.mark.django_db


def test_mrr_movements_churn_nrr_arpu_and_trial_conversion(actor, make_plan, travel):
    monthly = make_plan(amount=3000, name="Monthly")
    monthly_pro = make_plan(amount=6000, name="Monthly Pro")
    yearly = make_plan(amount=120_000, interval="year", name="Yearly")
    weekly = make_plan(amount=700, interval="week", name="Weekly")
    eur_trial = make_plan(amount=1000, currency="EUR", trial_days=14, name="Trial")
    a, b, c, d, e = (CustomerFactory() for _ in range(5))
    subs = {}

    def create(key, customer, plan, quantity=1, token="tok_visa"):
        subs[key] = services.subscription_create(actor=actor, customer_id=customer.id, plan_id=plan.id,
                                                 quantity=quantity, payment_method=token)

    plan_of_day = {
        dt.date(2026, 1, 1): lambda: (create("d", d, eur_trial),
                                      create("e", e, eur_trial, token="tok_decline_insufficient_funds")),
        dt.date(2026, 1, 5): lambda: create("a", a, monthly),
        dt.date(2026, 1, 10): lambda: create("b", b, yearly, quantity=2),
        dt.date(2026, 1, 15): lambda: create("c", c, weekly),
        dt.date(2026, 2, 10): lambda: services.subscription_change(
            actor=actor, subscription_id=subs["a"].id, plan_id=monthly_pro.id, proration_behavior="none"),
        dt.date(2026, 2, 20): lambda: services.subscription_cancel(actor=actor, subscription_id=subs["c"].id),
        dt.date(2026, 3, 3): lambda: services.subscription_change(
            actor=actor, subscription_id=subs["b"].id, quantity=1, proration_behavior="none"),
        dt.date(2026, 3, 5): lambda: create("c2", c, weekly),
    }
    day = dt.date(2026, 1, 1)
    while day <= dt.date(2026, 3, 31):
        travel(at(day.year, day.month, day.day))
        services.billing_run(actor=actor)
        if day in plan_of_day:
            travel(at(day.year, day.month, day.day, 12))
            plan_of_day[day]()
        day += dt.timedelta(days=1)
    subs["e"].refresh_from_db()
    assert subs["e"].status == "unpaid"

    result = selectors.subscription_analytics(months=3, as_of=at(2026, 3, 31, 23))
    assert result["mrr"] == [
        {"currency": "EUR", "mrr": 1000, "arr": 12000, "paying_customers": 1, "arpu": 1000},
        {"currency": "USD", "mrr": 19033, "arr": 228396, "paying_customers": 3, "arpu": 6344},
    ]
    rows = {(r["month"], r["currency"]): r for r in result["movements"]}

    def pick(row, *keys):
        return tuple(row[k] for k in keys)

    keys = ("mrr_start", "new", "expansion", "contraction", "churn", "reactivation", "mrr_end", "net_new",
            "customers_start", "customers_churned", "logo_churn_rate", "revenue_churn_rate", "net_revenue_retention")
    assert pick(rows[("2026-01", "USD")], *keys) == (0, 26033, 0, 0, 0, 0, 26033, 26033, 0, 0, None, None, None)
    assert pick(rows[("2026-02", "USD")], *keys) == (26033, 0, 3000, 0, 3033, 0, 26000, -33, 3, 1, "0.3333",
                                                     "0.1165", "0.9987")
    assert pick(rows[("2026-03", "USD")], *keys) == (26000, 0, 0, 10000, 0, 3033, 19033, -6967, 2, 0, "0.0000",
                                                     "0.3846", "0.6154")
    assert pick(rows[("2026-01", "EUR")], *keys) == (0, 1000, 0, 0, 0, 0, 1000, 1000, 0, 0, None, None, None)
    assert pick(rows[("2026-03", "EUR")], *keys) == (1000, 0, 0, 0, 0, 0, 1000, 0, 1, 0, "0.0000", "0.0000",
                                                     "1.0000")
    assert result["trial_conversion"] == {"trials_ended": 2, "converted": 1, "rate": "0.5000"}


def test_empty_history(db):
    result = selectors.subscription_analytics(months=2, as_of=at(2026, 3, 31))
    assert (result["mrr"], result["movements"], result["trial_conversion"]) == (
        [], [], {"trials_ended": 0, "converted": 0, "rate": None})
