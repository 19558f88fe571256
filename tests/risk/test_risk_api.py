import datetime as dt

import pytest

from core import clock
from core.context import Actor
from payments.models import Payment
from payments.risk import model as fraud_model
from tests.factories import CustomerFactory

ACTOR = Actor.system("tests")


def _pay(customer, at, **kw):
    fields = dict(amount=4000, currency="USD", method="card", payment_method="tok_visa", status="succeeded",
                  device_id="d1", ip_country="US", card_country="US", channel="web", merchant_reference="m1")
    fields.update(kw)
    return Payment.objects.create(customer=customer, created=at, updated=at, **fields)


@pytest.fixture
def history(db):
    customer, other = CustomerFactory(), CustomerFactory()
    now = clock.now()
    for k in range(6):
        _pay(customer, now - dt.timedelta(days=6 - k))
    shared = _pay(other, now - dt.timedelta(hours=2), device_id="d1")
    held = _pay(customer, now - dt.timedelta(hours=1), amount=900_000, status="requires_capture",
                review_status="pending", risk_score=70, risk_decision="review", risk_explanation=[
                    {"feature": "amount_ratio", "value": 225.0, "usual": 1.0, "contribution": 2.1,
                     "text": "amount is 225.0x the customer's average; usual: 1"}])
    return customer, other, held, shared


def test_models_are_listed_with_metrics_and_warnings(api, small_frame):
    trained = fraud_model.train(small_frame)
    out = fraud_model.register(actor=ACTOR, trained=trained, data_fingerprint="a" * 64, activate=True)
    response = api.get("/api/v1/risk/models")
    assert response.status_code == 200, response.json()
    [row] = response.json()["data"]
    assert (row["id"], row["status"], row["warning"]) == (out["model_id"], "active", None)
    assert row["metrics"]["auprc"] == trained.metrics["auprc"]
    assert row["metrics"]["rules_baseline"]["auprc"] == trained.metrics["rules_baseline"]["auprc"]


def test_review_queue_shows_explanation_history_and_links(api, history):
    customer, other, held, _ = history
    response = api.get("/api/v1/risk/review-queue")
    assert response.status_code == 200, response.json()
    [item] = response.json()["data"]
    assert item["payment"]["id"] == held.id and item["explanation"][0]["feature"] == "amount_ratio"
    assert len(item["recent_payments"]) == 6 and item["recent_payments"][0]["amount"] == "40.00"
    assert item["linked"]["same_device"] == [other.id]


def test_assessment_of_a_stored_and_a_proposed_payment(api, history):
    customer, _, held, _ = history
    response = api.post("/api/v1/risk/assessments", {"payment_id": held.id}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    ti = body["transaction_intelligence"]
    assert (ti["model_version"], ti["basis"]["scored_by"], ti["confidence"]) == ("rules-1", "rules", "low")
    assert ti["recommendation"] in ("approve", "approve_with_monitoring", "review", "block")
    assert body["user_behavior"]["basis"]["payments"] == 6 and body["compliance_status"]["risk_level"] == "unknown"
    before = Payment.objects.count()
    proposed = api.post("/api/v1/risk/assessments", {"customer_id": customer.id, "amount": "12.00",
                                                     "currency": "USD", "device_id": "d9"}, format="json")
    assert proposed.status_code == 200, proposed.json()
    assert proposed.json()["payment_id"] is None and proposed.json()["amount"] == "12.00"
    assert Payment.objects.count() == before
    bad = api.post("/api/v1/risk/assessments", {"customer_id": customer.id}, format="json")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "validation_error"


def test_patterns_name_the_rows_behind_them(api, history):
    customer, other, held, shared = history
    response = api.get("/api/v1/risk/patterns", {"analysis_type": "shared_devices", "threshold": 2})
    assert response.status_code == 200, response.json()
    [finding] = response.json()["findings"]
    assert (finding["kind"], finding["key"], finding["count"]) == ("device", "d1", 2)
    assert shared.id in finding["payment_ids"] and held.id in finding["payment_ids"]
    anomaly = api.get("/api/v1/risk/patterns", {"analysis_type": "behavioral_anomaly", "threshold": 60}).json()
    assert [(f["key"], f["payment_ids"]) for f in anomaly["findings"]] == [(customer.id, [held.id])]
    assert api.get("/api/v1/risk/patterns", {"analysis_type": "nope"}).status_code == 400


def test_risk_reads_need_the_risk_scope(client_for, history):
    client = client_for("payments:read")
    response = client.get("/api/v1/risk/review-queue")
    assert response.status_code == 403 and response.json()["error"]["code"] == "insufficient_scope"
