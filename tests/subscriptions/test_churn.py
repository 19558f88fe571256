"""Churn model: trained on history, evaluated on a later period, honest when history is short."""

import datetime as dt
import random

import pytest
from celery import current_app

from core import clock
from core.events import dispatch_pending
from core.models import AuditEvent, MLModel, OutboxMessage
from subscriptions import churn
from subscriptions.models import ChurnScore, Invoice, InvoiceAttempt, Subscription, SubscriptionEvent
from tests.factories import CustomerFactory

from .conftest import at

pytestmark = pytest.mark.django_db
NOW = at(2026, 12, 1)


def _history(make_plan, n=160, pricey=None, misleading=False):
    """Test data written directly: a year of subscriptions where churners fail payments first
    (and, with `pricey` minor units, pay that price where the others pay 30.00). With `misleading`,
    the churners of the evaluation period (after NOW - H) fail nothing, and other subscriptions fail
    payments in September instead: a model trained on the earlier pattern ranks worse than chance."""
    rng = random.Random(3)
    cheap = make_plan(amount=3000)
    dear = make_plan(amount=pricey) if pricey else cheap
    for i in range(n):
        plan = dear if i % 3 == 0 else cheap
        customer = CustomerFactory()
        start = at(2026, 1, 1) + dt.timedelta(days=rng.randint(0, 40))
        sub = Subscription.objects.create(
            customer=customer, plan=plan, status="active", billing_cycle_anchor=start, current_period_start=start,
            current_period_end=start + dt.timedelta(days=30), created=start, updated=start)
        invoice = Invoice.objects.create(subscription=sub, customer=customer, status="paid", number=f"T-{i}",
                                         billing_reason="subscription_create", currency="USD", period_start=start,
                                         period_end=start + dt.timedelta(days=30), created=start, updated=start)
        SubscriptionEvent.objects.create(subscription=sub, customer_id=customer.id, kind="activated",
                                         status="active", plan_id=plan.id, quantity=1, currency="USD",
                                         mrr=plan.amount, at=start)
        InvoiceAttempt.objects.create(invoice=invoice, number=1, status="succeeded", created=start, settled=start)
        if misleading and i % 3 == 1:
            for k in range(3):
                moment = at(2026, 9, 5) + dt.timedelta(days=8 * k)
                InvoiceAttempt.objects.create(invoice=invoice, number=2 + k, status="failed",
                                              failure_code="insufficient_funds", created=moment, settled=moment)
        if i % 3 == 0:
            churn_at = at(2026, 3, 1) + dt.timedelta(days=rng.randint(0, 260))
            for k in range(3 if not (misleading and churn_at > NOW - churn.HORIZON) else 0):
                moment = churn_at - dt.timedelta(days=45 - 10 * k)
                InvoiceAttempt.objects.create(invoice=invoice, number=2 + k, status="failed",
                                              failure_code="insufficient_funds", created=moment, settled=moment)
            SubscriptionEvent.objects.create(subscription=sub, customer_id=customer.id, kind="canceled",
                                             status="canceled", plan_id=plan.id, quantity=1, currency="USD", mrr=0,
                                             at=churn_at)


def test_too_little_history_shows_no_score(make_plan):
    _history(make_plan, n=10)
    assert churn.train(now=NOW) is None
    assert MLModel.objects.filter(name=churn.NAME).count() == 0
    result = churn.at_risk(now=NOW)
    assert (result["status"], result["subscriptions"], result["model"]) == ("insufficient_history", [], None)


def test_trained_model_is_stored_with_metrics_and_explains_scores(make_plan):
    _history(make_plan)
    model = churn.train(now=NOW)
    assert (model.window_end, model.params["eval_cutoff"]) == (NOW - 2 * churn.HORIZON,
                                                               "2026-10-02T00:00:00Z")
    assert model.window_start == NOW - 2 * churn.HORIZON - dt.timedelta(days=90)
    assert model.metrics["n_train"] > 100 and model.metrics["n_eval"] > 50
    assert set(model.metrics) == {"roc_auc", "auprc", "precision", "recall", "base_rate", "train_positives",
                                  "eval_positives", "n_train", "n_eval", "rules_baseline"}
    assert model.metrics["roc_auc"] > 0.7
    assert (model.name, model.features, model.artifact_format) == ("churn", churn.FEATURES, "xgboost-json")
    assert len(model.data_fingerprint) == 64 and len(model.eval_fingerprint) == 64
    again = churn.train(now=NOW)
    assert bytes(again.artifact) == bytes(model.artifact)  # seeded and single-threaded: deterministic
    assert again.data_fingerprint == model.data_fingerprint
    result = churn.at_risk(now=at(2026, 10, 20), limit=5)
    assert result["status"] == "ok" and len(result["subscriptions"]) == 5
    top = result["subscriptions"][0]
    scores = [row["score"] for row in result["subscriptions"]]
    assert scores == sorted(scores, reverse=True)
    assert top["score"] > result["subscriptions"][-1]["score"]
    assert top["reasons"][0]["feature"] in churn.FEATURES and top["reasons"][0]["contribution"] > 0
    assert any(r["feature"] == "failed_payments" for row in result["subscriptions"] for r in row["reasons"])


def test_samples_count_downgrades_failures_and_days_since_payment(make_plan):
    plan = make_plan(amount=3000)
    start = at(2026, 1, 1)
    customer = CustomerFactory()
    sub = Subscription.objects.create(customer=customer, plan=plan, status="active", billing_cycle_anchor=start,
                                      current_period_start=start, current_period_end=at(2026, 2, 1), created=start,
                                      updated=start)
    invoice = Invoice.objects.create(subscription=sub, customer=customer, status="paid", number="T-1",
                                     billing_reason="subscription_create", currency="USD", period_start=start,
                                     period_end=at(2026, 2, 1), created=start, updated=start)
    InvoiceAttempt.objects.create(invoice=invoice, number=1, status="succeeded", created=start, settled=start)
    InvoiceAttempt.objects.create(invoice=invoice, number=2, status="failed", created=at(2026, 1, 20),
                                  settled=at(2026, 1, 20))
    for kind, mrr, day in [("activated", 3000, 1), ("changed", 1500, 5), ("changed", 6000, 10),
                           ("changed", 2000, 15), ("changed", 1000, 25)]:
        SubscriptionEvent.objects.create(subscription=sub, customer_id=customer.id, kind=kind, status="active",
                                         plan_id=plan.id, quantity=1, currency="USD", mrr=mrr, at=at(2026, 1, day))
    ended = Subscription.objects.create(customer=CustomerFactory(), plan=plan, status="canceled",
                                        billing_cycle_anchor=start, current_period_start=start,
                                        current_period_end=at(2026, 2, 1), created=start, updated=start)
    SubscriptionEvent.objects.create(subscription=ended, customer_id=ended.customer_id, kind="canceled",
                                     status="canceled", plan_id=plan.id, quantity=1, currency="USD", mrr=0,
                                     at=at(2026, 1, 2))
    samples = churn.samples_at(at(2026, 1, 21), labelled=False)
    assert [(s.subscription_id, s.customer_id, s.features, s.label) for s in samples] == [
        (sub.id, customer.id, [20.0, 1, 2, 2000, 20.0, 0], 0)]


def test_reasons_give_prices_as_money(make_plan):
    _history(make_plan, pricey=12083)
    churn.train(now=NOW)
    result = churn.at_risk(now=at(2026, 10, 20), limit=50)
    prices = [r for row in result["subscriptions"] for r in row["reasons"] if r["feature"] == "monthly_price"]
    assert prices, "no score is explained by the price in this history"
    assert {(r["value"], r["currency"]) for r in prices} <= {("120.83", "USD"), ("30.00", "USD")}
    others = [r for row in result["subscriptions"] for r in row["reasons"] if r["feature"] != "monthly_price"]
    assert others and all(isinstance(r["value"], (int, float)) and "currency" not in r for r in others)


def test_at_risk_page_reads_prices_as_money(make_plan, staff_client):
    import time_machine

    _history(make_plan, pricey=12083)
    churn.train(now=NOW)
    with time_machine.travel(at(2026, 10, 20), tick=False):
        churn.score_paying()
        page = staff_client("admin").get("/admin/subscriptions/churnmodel/at-risk/").content.decode()
    assert "monthly_price = 120.83 USD" in page and "12083" not in page


def test_good_model_is_promoted_and_scores_come_from_the_active_model(make_plan):
    _history(make_plan)
    first = churn.train(now=NOW)
    assert first.status == MLModel.Status.ACTIVE and first.promotion["promoted"] is True
    assert first.metrics["auprc"] > first.metrics["rules_baseline"]["auprc"] == first.metrics["base_rate"]
    assert first.promotion["reason"] == (f"auprc {first.metrics['auprc']} > rules {first.metrics['base_rate']}"
                                         ", no active model")
    assert AuditEvent.objects.filter(action="ml_model.promoted", object_id=first.id).count() == 1
    result = churn.at_risk(now=at(2026, 10, 20), limit=3)
    assert (result["status"], result["model"]["id"], result["warnings"]) == ("ok", first.id, [])
    # Retrained on the same history: not worse than the active model on the same sample, so it replaces it.
    second = churn.train(now=NOW)
    first.refresh_from_db()
    assert (first.status, second.status) == (MLModel.Status.RETIRED, MLModel.Status.ACTIVE)
    assert second.promotion["active_model_id"] == first.id
    assert second.promotion["active"]["auprc"] == first.metrics["auprc"]
    assert churn.at_risk(now=at(2026, 10, 20), limit=3)["model"]["id"] == second.id


def test_model_worse_than_chance_stays_a_candidate_and_the_page_warns(make_plan, staff_client):
    import time_machine

    _history(make_plan, misleading=True)
    model = churn.train(now=NOW)
    assert model.metrics["roc_auc"] < 0.5
    assert model.status == MLModel.Status.CANDIDATE and model.promotion["promoted"] is False
    assert model.promotion["reason"] == f"worse_than_chance: ROC-AUC {model.metrics['roc_auc']} is not above 0.5"
    assert AuditEvent.objects.filter(action="ml_model.promotion_refused", object_id=model.id).count() == 1
    result = churn.at_risk(now=at(2026, 10, 20))
    assert (result["status"], result["subscriptions"], result["model"]["id"]) == ("no_active_model", [], model.id)
    assert result["warnings"] == [
        f"Model {model.version} ranks worse than chance (ROC-AUC {model.metrics['roc_auc']}, at most 0.5): "
        "it is never made active."]
    assert result["message"] == (f"No churn model is active, so no scores are shown: the latest, {model.version}, "
                                 f"is a candidate ({model.promotion['reason']}).")
    with time_machine.travel(at(2026, 10, 20), tick=False):
        page = staff_client("admin").get("/admin/subscriptions/churnmodel/at-risk/").content.decode()
    # Said once, with its reason (it was a warning and the message both).
    assert page.count("ranks worse than chance") == 1 and page.count("No churn model is active") == 1
    assert f"is a candidate ({model.promotion['reason']})" in page
    with time_machine.travel(at(2026, 10, 20), tick=False):
        dashboard = staff_client("admin").get("/admin/dashboards/subscriptions/").content.decode()
    # Once, as the empty at-risk table's text; it was also a page note and a warning (three times).
    assert dashboard.count("No churn model is active") == 1 and dashboard.count("ranks worse than chance") == 1
    assert "No scores without an active model." in page


def test_stored_scores_are_the_live_ones_and_the_lists_read_them(make_plan):
    _history(make_plan)
    model = churn.train(now=NOW)
    assert churn.stored_at_risk(limit=5)["status"] == "not_scored"  # nothing scored yet ...
    # ... but its activation, handed to the subscribers by the relay, queues the scoring job at once.
    dispatch_pending()
    queued = OutboxMessage.objects.filter(task="subscriptions.score_churn")
    assert queued.count() == 1
    with clock.frozen_at(NOW):
        current_app.tasks[queued.get().task].apply().get()
    live = churn.at_risk(now=NOW, limit=10_000)["subscriptions"]
    assert ChurnScore.objects.filter(model=model).count() == len(live) > 5
    when = at(2026, 10, 20)
    assert churn.score_paying(now=when) == len(churn.at_risk(now=when, limit=10_000)["subscriptions"])
    stored = churn.stored_at_risk(limit=5)
    assert (stored["status"], stored["scored_at"], stored["model"]["id"]) == ("ok", when, model.id)
    assert stored["subscriptions"] == churn.at_risk(now=when, limit=5)["subscriptions"]
    # A subscription that stopped paying since the scoring leaves the list; another currency has none.
    top = stored["subscriptions"][0]["subscription_id"]
    Subscription.objects.filter(pk=top).update(status="canceled")
    assert top not in [r["subscription_id"] for r in churn.stored_at_risk(limit=5)["subscriptions"]]
    assert churn.stored_at_risk(limit=5, currency="EUR")["subscriptions"] == []
    assert len(churn.stored_at_risk(limit=5, currency="USD")["subscriptions"]) == 5
    # The currency filter separates the rows: one score filed under EUR is listed there and not under USD.
    euro = stored["subscriptions"][1]["subscription_id"]
    ChurnScore.objects.filter(subscription_id=euro).update(currency="EUR")
    assert [r["subscription_id"] for r in churn.stored_at_risk(limit=5, currency="EUR")["subscriptions"]] == [euro]
    assert euro not in [r["subscription_id"] for r in churn.stored_at_risk(limit=50, currency="USD")["subscriptions"]]


def test_an_active_model_without_stored_scores_says_so_and_no_model_clears_them(make_plan):
    _history(make_plan)
    model = churn.train(now=NOW)
    ChurnScore.objects.all().delete()
    result = churn.stored_at_risk(limit=5)
    assert (result["status"], result["subscriptions"], result["model"]["id"]) == ("not_scored", [], model.id)
    assert "subscriptions.score_churn" in result["message"]
    churn.score_paying(now=NOW)
    MLModel.objects.filter(pk=model.pk).update(status=MLModel.Status.RETIRED)
    assert churn.score_paying(now=NOW) == 0 and not ChurnScore.objects.exists()
    assert churn.stored_at_risk(limit=5)["status"] == "no_active_model"


def test_a_scoring_that_outlives_its_model_stores_nothing(make_plan):
    """The hourly scoring reads the active model, then scores for seconds; if a training activated another model
    meanwhile (and stored its scores), the late run must not replace them with the retired model's."""
    _history(make_plan)
    first = churn.train(now=NOW)
    stale_rows = churn._scored_rows(first, NOW)
    second = churn.train(now=NOW)  # retires the first
    assert second.status == MLModel.Status.ACTIVE
    churn.score_paying(now=NOW)  # the scores of the second
    before = set(ChurnScore.objects.values_list("model_id", "subscription_id", "score"))
    assert {m for m, _s, _score in before} == {second.id}
    assert churn._store_scores(first, stale_rows, NOW) == 0
    assert set(ChurnScore.objects.values_list("model_id", "subscription_id", "score")) == before
