"""The fraud model in the payment flow: review outcomes become labels; a payment scored by the active
model stores its score, decision, explanation and IP country."""

import datetime as dt

from core import clock
from payments.models import Payment
from payments.risk import model as fraud_model
from payments.risk.dataset import rows_to_frame
from payments.risk.simulate import simulate
from payments.services import payment_review


def test_review_outcomes_become_labels(pay, actor):
    held, other, plain = pay(amount=1_000_000, channel="moto"), pay(amount=1_000_000, channel="moto"), pay()
    assert (held.review_status, held.fraud_label, plain.fraud_label) == ("pending", None, None)
    payment_review(actor=actor, payment_id=held.id, decision="approve")
    payment_review(actor=actor, payment_id=other.id, decision="reject")
    labels = dict(Payment.objects.values_list("id", "fraud_label"))
    assert labels == {held.id: False, other.id: True, plain.id: None}


def test_a_payment_scored_by_the_active_model_keeps_its_explanation(settings, pay, actor, customer):
    frame = rows_to_frame(simulate(customers=80, days=90, seed=11, start=dt.date(2025, 1, 1)))
    trained = fraud_model.train(frame)
    out = fraud_model.register(actor=actor, trained=trained, data_fingerprint="d" * 64, activate=True)
    assert out["activated"] is True, out["reason"]
    settings.PAYMENTS_RISK_SCORER = "payments.risk.scorer.model_scorer"
    start = clock.now()
    with clock.frozen_at(start):
        first = pay(amount=2_500, channel="web", device_id="dev-1", ip_country="US", merchant_reference="shop-1")
    burst = []
    for k in range(12):
        with clock.frozen_at(start + dt.timedelta(seconds=20 * (k + 1))):
            burst.append(pay(amount=100, channel="web", device_id=f"dev-x{k}", ip_country="RU",
                             merchant_reference=f"shop-{k}"))
    stored = Payment.objects.get(pk=burst[-1].id)
    assert stored.risk_model_version == out["version"] and stored.ip_country == "RU"
    assert first.ip_country == "US"
    assert stored.risk_explanation and stored.risk_reasons == [e["feature"] for e in stored.risk_explanation]
    assert stored.risk_score > first.risk_score
    assert {e["feature"] for e in stored.risk_explanation} & {"count_1h", "new_devices_24h", "new_countries_24h",
                                                             "count_24h", "new_device", "new_ip_country"}


def test_a_fired_rule_is_recorded_with_the_payment(settings, pay, actor):
    from payments.models import RiskRule
    from payments.risk.rules import risk_rule_save

    settings.PAYMENTS_RISK_SCORER = "payments.risk.scorer.model_scorer"
    risk_rule_save(actor=actor, rule=RiskRule(name="dev-block", kind="block_list", field="device_id",
                                              values=["dev-bad"], action="block"))
    blocked = pay(device_id="dev-bad")
    ok = pay(device_id="dev-good")
    assert (blocked.status, blocked.failure_code, blocked.risk_rules_fired) == ("failed", "blocked_by_risk",
                                                                               ["dev-block"])
    assert (ok.status, ok.risk_rules_fired) == ("succeeded", [])
