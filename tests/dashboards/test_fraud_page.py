"""The fraud page: score distribution, decisions by day, review queue, caught and missed, model versions,
patterns; exact values from payments written directly."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core import clock
from core.models import MLModel
from monitoring.analytics import fraud as analytics
from monitoring.dashboards import registry
from monitoring.dashboards.period import Period
from payments.models import Payment
from tests.adminurls import admin_url

from .helpers import chart_payload, csv_rows

pytestmark = pytest.mark.django_db
PERIOD = Period(dt.date(2026, 3, 1), dt.date(2026, 3, 10))
QUERY = "from=2026-03-01&to=2026-03-10"
NOW = dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC)
CHART_NAMES = ["score_distribution", "decisions_by_day", "review_queue", "label_outcomes", "model_versions",
               "top_rules", "top_reasons"]


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def pay(customer, created, currency="EUR", amount=1000, score=None, decision="", label=None, rules=(), reasons=(),
        version="", review="none", status="succeeded"):
    return Payment.objects.create(
        customer=customer, amount=amount, currency=currency, method="card", payment_method="tok_visa",
        created=created, updated=created, risk_score=score, risk_decision=decision, fraud_label=label,
        risk_rules_fired=list(rules), risk_reasons=list(reasons), risk_model_version=version,
        review_status=review, status=status, amount_capturable=amount if status == "requires_capture" else 0)


def model(version, status, auprc, created):
    return MLModel.objects.create(
        name="fraud", version=version, status=status, features=["amount"], data_fingerprint="f" * 64,
        artifact=b"", artifact_format="xgboost-ubj", created=created, updated=created,
        activated_at=created if status == "active" else None,
        metrics={"auprc": auprc, "roc_auc": 0.9, "recall_at_1pct_fpr": 0.35, "precision_at_100": 0.2, "rows": 1000,
                 "rules_baseline": {"auprc": 0.12}})


@pytest.fixture
def history(customer):
    p = {
        "allowed_legit": pay(customer, at(2026, 3, 2, 10), score=5, decision="allow", label=False, version="fraud-v1",
                             reasons=["amount"]),
        "pending": pay(customer, at(2026, 3, 2, 11), amount=2000, score=55, decision="review", version="fraud-v1",
                       rules=["high_amount"], reasons=["amount", "velocity_1h"], review="pending",
                       status="requires_capture"),
        "blocked_fraud": pay(customer, at(2026, 3, 3, 9), amount=3000, score=95, decision="block", label=True,
                             version="fraud-v2", rules=["high_amount", "bad_country"], reasons=["ip_country"],
                             status="failed"),
        "reviewed_fraud": pay(customer, at(2026, 3, 3, 10), currency="USD", amount=400, score=60,
                              decision="review", label=True, version="fraud-v2", rules=["bad_country"],
                              reasons=["ip_country"], review="rejected", status="canceled"),
        "missed": pay(customer, at(2026, 3, 4, 10), currency="USD", amount=500, score=12, decision="allow",
                      label=True, version="fraud-v2"),
        "false_positive": pay(customer, at(2026, 3, 4, 11), amount=600, score=70, decision="review", label=False,
                              version="fraud-v2", reasons=["velocity_1h"], review="approved"),
        "unscored": pay(customer, at(2026, 3, 5, 10), amount=700),
        "previous_block": pay(customer, at(2026, 2, 25, 10), amount=800, score=91, decision="block",
                              version="fraud-v1"),
        "old_pending": pay(customer, at(2026, 2, 20), amount=900, score=66, decision="review", version="fraud-v1",
                           review="pending", status="requires_capture"),
        "after": pay(customer, at(2026, 3, 11, 1), score=100, decision="block", rules=["high_amount"]),
    }
    p["v1"] = model("fraud-v1", "retired", 0.41, at(2026, 1, 1))
    p["v2"] = model("fraud-v2", "active", 0.5512, at(2026, 2, 1))
    return p


def test_selectors_give_exact_values(history):
    assert analytics.score_distribution(PERIOD) == [
        {"bucket": "0-9", "payments": 1, "flagged": 0}, {"bucket": "10-19", "payments": 1, "flagged": 0},
        *[{"bucket": f"{low}-{low + 9}", "payments": 0, "flagged": 0} for low in (20, 30, 40)],
        {"bucket": "50-59", "payments": 1, "flagged": 1}, {"bucket": "60-69", "payments": 1, "flagged": 1},
        {"bucket": "70-79", "payments": 1, "flagged": 1}, {"bucket": "80-89", "payments": 0, "flagged": 0},
        {"bucket": "90-100", "payments": 1, "flagged": 1}]
    assert analytics.decisions_by_day(PERIOD) == [
        {"day": "2026-03-02", "allow": 1, "review": 1, "block": 0, "unscored": 0},
        {"day": "2026-03-03", "allow": 0, "review": 1, "block": 1, "unscored": 0},
        {"day": "2026-03-04", "allow": 1, "review": 1, "block": 0, "unscored": 0},
        {"day": "2026-03-05", "allow": 0, "review": 0, "block": 0, "unscored": 1}]
    assert analytics.decision_totals(PERIOD) == {"scored": 6, "previous_scored": 2, "review": 3,
                                                 "previous_review": 1, "block": 1, "previous_block": 1}
    queue = analytics.review_queue(PERIOD)
    assert (queue["count"], queue["oldest"]) == (2, at(2026, 2, 20))
    assert [p["id"] for p in queue["payments"]] == [history["old_pending"].pk, history["pending"].pk]
    assert analytics.label_outcomes(PERIOD) == {
        "caught_block": 1, "caught_review": 1, "missed": 1, "false_positive": 1, "correctly_allowed": 1,
        "caught": 2, "recall": Decimal("0.6667"), "precision": Decimal("0.6667")}
    versions = analytics.model_versions(PERIOD)
    assert [(m["version"], m["status"], m["auprc"], m["rules_auprc"], m["scored_in_period"]) for m in versions] == [
        ("fraud-v2", "active", Decimal("0.5512"), Decimal("0.12"), 4),
        ("fraud-v1", "retired", Decimal("0.41"), Decimal("0.12"), 2)]
    assert analytics.patterns(PERIOD) == {
        "rules": [{"name": "bad_country", "payments": 2}, {"name": "high_amount", "payments": 2}],
        "reasons": [{"name": "ip_country", "payments": 2}, {"name": "velocity_1h", "payments": 2},
                    {"name": "amount", "payments": 1}]}
    eur = Period(PERIOD.start, PERIOD.end, "EUR")
    assert analytics.patterns(eur)["rules"] == [{"name": "high_amount", "payments": 2},
                                                {"name": "bad_country", "payments": 1}]
    assert analytics.label_outcomes(eur)["missed"] == 0
    assert analytics.review_queue(Period(PERIOD.start, PERIOD.end, "USD"))["count"] == 0


def test_page_tiles_links_and_csv(history, staff_client):
    with clock.frozen_at(NOW):
        page = registry.get("fraud").build(PERIOD)
        client = staff_client("admin")
        body = client.get(f"/admin/dashboards/fraud/?{QUERY}").content.decode()
        rows = csv_rows(client.get(f"/admin/dashboards/fraud/?{QUERY}&format=csv&chart=label_outcomes"))
    assert [c.name for c in page.charts] == CHART_NAMES
    tiles = {t.key: t for s in page.sections for t in s.tiles}
    assert (tiles["scored"].value, tiles["scored"].change["text"]) == (6, "+200.0 %")
    assert (tiles["blocked"].value, tiles["blocked"].change["direction"]) == (1, "flat")
    assert (tiles["review_queue"].value, tiles["review_queue"].detail) == (2, "oldest waiting 18 d 12 h")  # 444 h
    assert (tiles["recall"].text, tiles["precision"].text, tiles["active_model"].value) == (
        "66.7 %", "66.7 %", "fraud-v2")
    assert chart_payload(body, "decisions_by_day")["labels"] == ["2026-03-02", "2026-03-03", "2026-03-04",
                                                                 "2026-03-05"]
    assert f'href="{admin_url(history["old_pending"])}"' in body and f'href="{admin_url(history["v2"])}"' in body
    assert rows == [["outcome", "payments"], ["caught (blocked)", "1"], ["caught (held for review)", "1"],
                    ["missed (allowed)", "1"], ["false positive", "1"], ["correctly allowed", "1"]]


def test_the_page_answers_in_a_fixed_number_of_queries(history, customer):
    with CaptureQueriesContext(connection) as few:
        registry.get("fraud").build(PERIOD)
    for i in range(5):
        pay(customer, at(2026, 3, 6, i), score=80, decision="review", rules=[f"r{i}"], reasons=["amount"],
            review="pending", status="requires_capture", label=True)
    with CaptureQueriesContext(connection) as more:
        registry.get("fraud").build(PERIOD)
    # one scan of both periods (distribution, decisions, totals, models' use), the queue (2), labels, the models,
    # patterns (2)
    assert len(few) == len(more) == 7


def test_empty_state_without_data(staff_client):
    page = registry.get("fraud").build(PERIOD)
    assert [c.name for c in page.charts] == CHART_NAMES and all(c.empty for c in page.charts)
    body = staff_client("admin").get(f"/admin/dashboards/fraud/?{QUERY}").content.decode()
    assert "No payment is waiting for review." in body and "No fraud model has been trained." in body


def test_the_page_needs_the_payments_view_permission(staff_client):
    from django.contrib.auth.models import Permission

    client = staff_client("admin")
    assert client.get("/admin/dashboards/fraud/").status_code == 200
    client.user.groups.clear()
    client.user.user_permissions.set(Permission.objects.filter(codename="view_wallet"))
    assert client.get("/admin/dashboards/fraud/").status_code == 403
