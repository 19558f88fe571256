"""The subscriptions page: MRR and movements (from subscription_analytics), churn and NRR, the churn model's
at-risk list, billing runs and dunning outcomes; exact values from rows written directly."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core import clock
from monitoring.analytics import subscriptions as analytics
from monitoring.dashboards import registry
from monitoring.dashboards.period import Period
from subscriptions import churn, services
from subscriptions.models import BillingRun, Invoice, InvoiceAttempt, MrrRollup, Subscription, SubscriptionEvent
from subscriptions.mrr_rollup import mrr_months_refresh
from tests.adminurls import admin_url
from tests.factories import CustomerFactory

from .helpers import chart_payload, csv_rows

pytestmark = pytest.mark.django_db
PERIOD = Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31))
QUERY = "from=2026-03-01&to=2026-03-31"
NOW = dt.datetime(2026, 4, 2, 12, tzinfo=dt.UTC)
CHART_NAMES = ["mrr_by_month", "mrr_movements", "churn_and_nrr", "at_risk", "billing_runs", "dunning_outcomes"]


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def subscription(plan, start, *changes):
    """A subscription activated at `start` with its plan's MRR, then `changes` as (moment, kind, status, mrr)."""
    customer = CustomerFactory()
    sub = Subscription.objects.create(customer=customer, plan=plan, status="active", billing_cycle_anchor=start,
                                      current_period_start=start, current_period_end=start + dt.timedelta(days=30),
                                      created=start, updated=start)
    for moment, kind, status, mrr in [(start, "activated", "active", plan.amount), *changes]:
        SubscriptionEvent.objects.create(subscription=sub, customer_id=customer.id, kind=kind, status=status,
                                         plan_id=plan.id, quantity=1, currency=plan.currency, mrr=mrr, at=moment)
    return sub


def invoice(sub, status, total, first_failed, next_attempt=None, attempts=()):
    n = Invoice.objects.count()
    inv = Invoice.objects.create(
        subscription=sub, customer=sub.customer, status=status, number=f"T-{n}", billing_reason="subscription_update",
        currency=sub.plan.currency, period_start=first_failed, period_end=first_failed + dt.timedelta(days=30),
        total=total, first_failed_at=first_failed, next_payment_attempt=next_attempt, created=first_failed,
        updated=first_failed, attempt_count=len(attempts))
    for number, (moment, result) in enumerate(attempts, start=1):
        InvoiceAttempt.objects.create(invoice=inv, number=number, status=result, created=moment, settled=moment)
    return inv


def run(started, status="succeeded", errors=0, **counts):
    return BillingRun.objects.create(as_of=started, status=status, started=started,
                                     finished=started + dt.timedelta(seconds=2), errors=errors, **counts)


@pytest.fixture
def history(actor):
    usd = services.plan_create(actor=actor, name="Basic", amount=3000, currency="USD", interval="month")
    usd_big = services.plan_create(actor=actor, name="Big", amount=5000, currency="USD", interval="month")
    usd_small = services.plan_create(actor=actor, name="Small", amount=2000, currency="USD", interval="month")
    eur = services.plan_create(actor=actor, name="Euro", amount=1000, currency="EUR", interval="month")
    s = {
        "a": subscription(usd, at(2026, 2, 10), (at(2026, 3, 15), "changed", "active", 6000)),
        "b": subscription(usd_big, at(2026, 2, 5), (at(2026, 3, 20), "canceled", "canceled", 0)),
        "c": subscription(usd_small, at(2026, 3, 3)),
        "d": subscription(eur, at(2026, 1, 1)),
    }
    s["recovered"] = invoice(s["a"], "paid", 3000, at(2026, 3, 6),
                             attempts=[(at(2026, 3, 6), "failed"), (at(2026, 3, 8), "succeeded")])
    s["retrying"] = invoice(s["b"], "open", 5000, at(2026, 3, 7), next_attempt=at(2026, 4, 5),
                            attempts=[(at(2026, 3, 7), "failed"), (at(2026, 3, 9), "failed")])
    s["given_up"] = invoice(s["c"], "open", 2000, at(2026, 3, 8),
                            attempts=[(at(2026, 3, 8), "failed"), (at(2026, 3, 10), "failed")])
    s["uncollectible"] = invoice(s["d"], "uncollectible", 1000, at(2026, 3, 9), attempts=[(at(2026, 3, 9), "failed")])
    s["before"] = invoice(s["a"], "paid", 700, at(2026, 2, 20),
                          attempts=[(at(2026, 2, 20), "failed"), (at(2026, 2, 22), "succeeded")])
    s["run1"] = run(at(2026, 3, 5, 1), renewed=3, invoices_created=3, payments_attempted=3, payments_succeeded=2,
                    payments_failed=1)
    s["run2"] = run(at(2026, 3, 6, 1), status="failed", errors=2)
    s["run_before"] = run(at(2026, 2, 27, 1), errors=5)
    return s


def test_selectors_give_exact_values(history):
    with clock.frozen_at(NOW):
        mrr = analytics.mrr(PERIOD)
        risk = analytics.at_risk(PERIOD)
    assert mrr["as_of"] == at(2026, 3, 31, 23, 59, 59, 999999)
    assert mrr["mrr"] == [{"currency": "EUR", "mrr": 1000, "arr": 12000, "paying_customers": 1, "arpu": 1000},
                          {"currency": "USD", "mrr": 8000, "arr": 96000, "paying_customers": 2, "arpu": 4000}]
    usd = next(m for m in mrr["movements"] if m["currency"] == "USD")
    assert {k: usd[k] for k in ("month", "mrr_start", "new", "expansion", "contraction", "churn", "reactivation",
                                "mrr_end", "net_new", "logo_churn_rate", "revenue_churn_rate",
                                "net_revenue_retention")} == {
        "month": "2026-03", "mrr_start": 8000, "new": 2000, "expansion": 3000, "contraction": 0, "churn": 5000,
        "reactivation": 0, "mrr_end": 8000, "net_new": 0, "logo_churn_rate": "0.5000",
        "revenue_churn_rate": "0.6250", "net_revenue_retention": "0.7500"}
    assert [m["month"] for m in mrr["movements"]] == ["2026-03", "2026-03"]
    assert (risk["status"], risk["subscriptions"]) == ("insufficient_history", [])
    runs = analytics.billing_runs(PERIOD)
    assert runs["totals"] == {"runs": 2, "failed": 1, "invoices_created": 3, "payments_attempted": 3,
                              "payments_succeeded": 2, "payments_failed": 1, "errors": 2}
    assert [(r["id"], r["duration_ms"]) for r in runs["runs"]] == [(history["run2"].pk, 2000.0),
                                                                   (history["run1"].pk, 2000.0)]
    assert [(r["currency"], r["outcome"], r["invoices"], r["amount"]) for r in analytics.dunning_outcomes(PERIOD)] == [
        ("EUR", "recovered", 0, 0), ("EUR", "retrying", 0, 0), ("EUR", "given_up", 0, 0),
        ("EUR", "uncollectible", 1, 1000), ("EUR", "void", 0, 0),
        ("USD", "recovered", 1, 3000), ("USD", "retrying", 1, 5000), ("USD", "given_up", 1, 2000),
        ("USD", "uncollectible", 0, 0), ("USD", "void", 0, 0)]
    assert analytics.retries(PERIOD) == {"attempted": 3, "succeeded": 1, "failed": 2, "previous_attempted": 1,
                                         "previous_succeeded": 1}
    eur = Period(PERIOD.start, PERIOD.end, "EUR")
    assert analytics.retries(eur)["attempted"] == 0
    with clock.frozen_at(NOW):
        assert [r["currency"] for r in analytics.mrr(eur)["mrr"]] == ["EUR"]


def test_page_tiles_charts_and_csv(history, staff_client):
    with clock.frozen_at(NOW):
        page = registry.get("subscriptions").build(PERIOD)
        client = staff_client("admin")
        body = client.get(f"/admin/dashboards/subscriptions/?{QUERY}").content.decode()
        rows = csv_rows(client.get(f"/admin/dashboards/subscriptions/?{QUERY}&format=csv&chart=churn_and_nrr"))
    assert [c.name for c in page.charts] == CHART_NAMES
    tiles = {t.key: t for s in page.sections for t in s.tiles}
    assert (tiles["mrr_usd"].text, tiles["mrr_usd"].detail) == ("80.00 USD", "2 paying customers, ARPU 40.00 USD")
    assert (tiles["net_new_mrr_eur"].value, tiles["billing_errors"].value) == (0, 2)
    assert (tiles["retry_success"].value, tiles["retry_success"].change["text"]) == (Decimal("0.3333"), "-66.7 pts")
    assert rows == [["month", "currency", "customers_start", "customers_churned", "logo_churn_rate",
                     "revenue_churn_rate", "net_revenue_retention"],
                    ["2026-03", "EUR", "1", "0", "0.0000", "0.0000", "1.0000"],
                    ["2026-03", "USD", "2", "1", "0.5000", "0.6250", "0.7500"]]
    assert chart_payload(body, "mrr_by_month")["datasets"] == [
        {"label": "MRR at end (EUR)", "data": [10.0], "unit": "money", "currency": "EUR", "digits": 2},
        {"label": "MRR at end (USD)", "data": [80.0], "unit": "money", "currency": "USD", "digits": 2}]
    assert f'href="{admin_url(history["run1"])}"' in body
    assert "Not enough subscription history to train a churn model" in body


def test_at_risk_comes_from_the_active_churn_model_with_links(actor, staff_client):
    from tests.subscriptions.test_churn import NOW as TRAINED
    from tests.subscriptions.test_churn import _history

    _history(lambda amount: services.plan_create(actor=actor, name=f"P{amount}", amount=amount, currency="USD",
                                                 interval="month"))
    assert churn.train(now=TRAINED).status == "active"
    period = Period(dt.date(2026, 10, 1), dt.date(2026, 10, 20))
    with clock.frozen_at(dt.datetime(2026, 10, 20, tzinfo=dt.UTC)):
        assert churn.score_paying() > analytics.AT_RISK_LIMIT  # the hourly job's scores, stored
        expected = churn.at_risk(limit=analytics.AT_RISK_LIMIT)["subscriptions"]  # scored live: the same
        risk = analytics.at_risk(period)
        body = staff_client("admin").get("/admin/dashboards/subscriptions/?from=2026-10-01&to=2026-10-20"
                                         ).content.decode()
        assert analytics.at_risk(Period(period.start, period.end, "EUR"))["subscriptions"] == []
    assert [(r["subscription_id"], r["score"]) for r in risk["subscriptions"]] == [
        (r["subscription_id"], Decimal(str(r["score"]))) for r in expected]
    top = risk["subscriptions"][0]
    assert top["currency"] == "USD" and top["reasons"].startswith(expected[0]["reasons"][0]["feature"] + " = ")
    assert f'href="{admin_url(Subscription.objects.get(pk=top["subscription_id"]))}"' in body


def test_the_page_answers_in_a_fixed_number_of_queries(history, actor):
    def counted() -> tuple[int, int]:
        """Queries of a build without the MRR months rollup (the whole history replayed: 9) and with it (its
        record, its closed months, then the current month's customers replayed: 10)."""
        MrrRollup.objects.all().delete()
        with clock.frozen_at(NOW), CaptureQueriesContext(connection) as replayed:
            registry.get("subscriptions").build(PERIOD)
        mrr_months_refresh(now=NOW)
        with clock.frozen_at(NOW), CaptureQueriesContext(connection) as stored:
            registry.get("subscriptions").build(PERIOD)
        return len(replayed), len(stored)

    assert counted() == (9, 10)
    plan = services.plan_create(actor=actor, name="More", amount=4000, currency="USD", interval="month")
    for day in range(3):  # more subscriptions, in closed months and in the current one
        sub = subscription(plan, at(2026, 2 + day % 2, 10 + day))
        invoice(sub, "open", 4000, at(2026, 3, 12 + day), attempts=[(at(2026, 3, 12 + day), "failed")])
        run(at(2026, 3, 12 + day, 1))
    assert counted() == (9, 10)


def test_empty_state_without_data(staff_client):
    with clock.frozen_at(NOW):
        page = registry.get("subscriptions").build(PERIOD)
        body = staff_client("admin").get(f"/admin/dashboards/subscriptions/?{QUERY}").content.decode()
    assert [c.name for c in page.charts] == CHART_NAMES and all(c.empty for c in page.charts)
    assert "No billing run in this period." in body and "No invoice payment failed in this period." in body
