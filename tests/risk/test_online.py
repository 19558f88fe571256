import dataclasses
import datetime as dt
import re

import numpy as np
import pytest

from core.context import Actor
from payments.models import Payment
from payments.risk import RiskContext, score_payment
from payments.risk import model as fraud_model
from payments.risk.dataset import rows_to_frame
from payments.risk.features import FEATURES, MERCHANT_FEATURES, feature_matrix
from payments.risk.online import features_for
from payments.risk.scorer import active_model, model_scorer
from payments.risk.simulate import simulate
from payments.risk.thresholds import decide, risk_thresholds_save
from tests.factories import CustomerFactory

ACTOR = Actor.system("tests")


def _store(rows):
    """The rows as stored payments (methods a payment can have); returns rows with the stored customer ids."""
    rows = [r for r in rows if r["method"] in ("card", "wallet")]
    customers = {cid: CustomerFactory().id for cid in sorted({r["customer_id"] for r in rows})}
    payments, out = [], []
    for r in rows:
        at = dt.datetime.fromisoformat(r["timestamp"])
        payments.append(Payment(
            customer_id=customers[r["customer_id"]], amount=round(float(r["amount"]) * 100), currency=r["currency"],
            method=r["method"], payment_method="tok_visa",
            status="failed" if r["status"] == "declined" else "succeeded",
            merchant_reference=r["merchant_id"] or "", device_id=r["device_id"] or "", ip_country=r["ip_country"] or "",
            card_country=r["card_country"] or "", channel=r["channel"], fraud_label=r["is_fraud"], created=at,
            updated=at))
        out.append({**r, "customer_id": customers[r["customer_id"]]})
    Payment.objects.bulk_create(payments)
    return out, payments


def _ctx(row, payment_id):
    return RiskContext(customer_id=row["customer_id"], customer_status="active",
                       amount=round(float(row["amount"]) * 100), currency=row["currency"],
                       method=row["method"], channel=row["channel"], device_id=row["device_id"] or "",
                       merchant_reference=row["merchant_id"] or "", ip_country=row["ip_country"] or "",
                       card_country=row["card_country"] or "", at=dt.datetime.fromisoformat(row["timestamp"]),
                       payment_id=payment_id)


@pytest.mark.django_db
def test_online_features_equal_the_file_features_for_the_same_history():
    rows = simulate(customers=25, days=50, seed=4, start=dt.date(2025, 5, 1))
    stored_rows, payments = _store(rows)
    X = feature_matrix(rows_to_frame(stored_rows))
    rng = np.random.default_rng(0)
    picked = sorted(set(rng.choice(len(stored_rows), 60, replace=False)) | {len(stored_rows) - 1})
    fraud_rows = [i for i, r in enumerate(stored_rows) if r["is_fraud"]][:15]
    for i in sorted(set(picked) | set(fraud_rows)):
        online = features_for(_ctx(stored_rows[i], payments[i].id))
        got = np.array([online[name] for name in FEATURES], dtype=np.float32)
        np.testing.assert_array_equal(got, X[i], err_msg=f"row {i}")


@pytest.mark.django_db
def test_a_busy_merchants_features_read_its_day_and_still_equal_the_file_features():
    """The merchant's first-time customers of the day at the look-back's edges: a payment exactly LOOKBACK after
    the customer's last one there is a first again, one millisecond less is not, and two payments in one
    millisecond share their flag. The online path reads the day's rows and one earlier payment per customer; the
    file path counts over everything: they must agree."""
    end = dt.datetime(2025, 7, 1, 12, tzinfo=dt.UTC)
    ms = dt.timedelta(milliseconds=1)

    def row(n, customer, at, merchant="mer_busy"):
        return {"id": f"tx_{n}", "customer_id": customer, "timestamp": at.isoformat(), "amount": "12.50",
                "currency": "USD", "method": "card", "merchant_id": merchant, "device_id": f"dev_{customer}",
                "ip_country": "US", "card_country": "US", "channel": "web", "status": "succeeded",
                "is_fraud": n % 7 == 0}

    day_a, day_c = end - dt.timedelta(hours=3), end - dt.timedelta(hours=2)
    rows = [row(0, "cus_a", day_a - dt.timedelta(days=30)), row(1, "cus_a", day_a),  # exactly LOOKBACK: a first
            row(2, "cus_c", day_c - dt.timedelta(days=30) + ms), row(3, "cus_c", day_c),  # 1 ms inside: not
            row(4, "cus_b", end - dt.timedelta(hours=1)), row(5, "cus_b", end - dt.timedelta(hours=1)),  # one ms
            row(6, "cus_d", end - dt.timedelta(days=3)), row(7, "cus_d", end - dt.timedelta(days=8)),
            row(8, "cus_e", end - dt.timedelta(days=1)), row(9, "cus_e", end - dt.timedelta(days=1) + ms),
            row(10, "cus_b", end - dt.timedelta(days=20), merchant="mer_other"),
            row(11, "cus_a", end)]  # the payment scored
    rows.sort(key=lambda r: r["timestamp"])
    stored_rows, payments = _store(rows)
    X = feature_matrix(rows_to_frame(stored_rows))
    last = next(i for i, r in enumerate(stored_rows) if r["id"] == "tx_11")
    online = features_for(_ctx(stored_rows[last], payments[last].id))
    got = np.array([online[name] for name in FEATURES], dtype=np.float32)
    np.testing.assert_array_equal(got, X[last])
    merchant = {name: online[name] for name in MERCHANT_FEATURES}
    # Of the day (cus_e's first payment is 24 h old to the millisecond: outside): cus_a's (a first again), cus_c's
    # (not), cus_b's two of one millisecond (firsts both), cus_e's second (not: its first is 1 ms earlier).
    assert (merchant["merchant_count_24h"], merchant["merchant_new_customers_24h"]) == (5.0, 3.0)
    # Of the week: those five, cus_d's of 3 days and cus_e's first; cus_d's of 8 days is older.
    assert merchant["merchant_spike"] == 5.0 / (7 / 7 + 1) == 2.5


@pytest.mark.django_db
def test_stored_times_are_read_as_milliseconds_floored_as_the_file_path_floors_them():
    """The statement reads each stored time as whole milliseconds (SQL on both databases): 0.999 ms after a
    millisecond is still in it. Rounded instead, a payment 30 days and 0.9 ms before the scored one would enter
    its 30-day window, and one at .000999 would move into the scored payment's millisecond and out of its past."""
    end = dt.datetime(2025, 7, 1, 12, tzinfo=dt.UTC)
    us = dt.timedelta(microseconds=1)

    def row(n, at, device):
        return {"id": f"tx_{n}", "customer_id": "cus_us", "timestamp": at.isoformat(), "amount": f"{10 + n}.25",
                "currency": "USD", "method": "card", "merchant_id": f"mer_{n % 2}", "device_id": device,
                "ip_country": "US", "card_country": "US", "channel": "web", "status": "succeeded", "is_fraud": None}

    rows = [row(0, end - dt.timedelta(days=30) + 900 * us, "dev_old"),  # the window's edge millisecond: outside
            row(1, end - dt.timedelta(days=2), "dev_a"),
            row(2, end - 1000 * us + 999 * us, "dev_b"), row(3, end - 1000 * us + 1 * us, "dev_c"),  # one ms
            row(4, end, "dev_d"), row(5, end + 500 * us, "dev_old")]  # the scored payment shares tx_4's ms
    stored_rows, payments = _store(rows)
    X = feature_matrix(rows_to_frame(stored_rows))
    by_name = {name: i for i, name in enumerate(FEATURES)}
    for i in range(len(stored_rows)):
        online = features_for(_ctx(stored_rows[i], payments[i].id))
        got = np.array([online[name] for name in FEATURES], dtype=np.float32)
        np.testing.assert_array_equal(got, X[i], err_msg=f"row {i}")
    # The scored payment sees tx_1, tx_2 and tx_3, not tx_0 (30 days old to the millisecond) or tx_4 (its own ms).
    assert (X[5][by_name["history_30d"]], X[5][by_name["count_1h"]], X[5][by_name["new_device"]]) == (3, 2, 1)


@pytest.mark.django_db
def test_the_active_model_scores_with_thresholds_and_explanation(small_frame):
    trained = fraud_model.train(small_frame)
    fraud_model.register(actor=ACTOR, trained=trained, data_fingerprint="a" * 64, activate=True)
    customer = CustomerFactory()
    start = dt.datetime(2025, 6, 1, 12, tzinfo=dt.UTC)
    for k in range(12):  # an ordinary history, then a burst of tiny payments from a new device abroad
        at = start + dt.timedelta(days=k)
        Payment.objects.create(customer=customer, amount=4000, currency="USD", method="card",
                               payment_method="tok", status="succeeded", device_id="d1", ip_country="US",
                               card_country="US", channel="web", merchant_reference="m1", created=at, updated=at)
    burst = start + dt.timedelta(days=12)
    for k in range(15):
        at = burst + dt.timedelta(seconds=30 * k)
        Payment.objects.create(customer=customer, amount=100, currency="USD", method="card", payment_method="tok",
                               status="failed", device_id="dx", ip_country="RU", card_country="US", channel="web",
                               merchant_reference="m2", created=at, updated=at)
    ctx = RiskContext(customer_id=customer.id, customer_status="active", amount=150, currency="USD", method="card",
                      channel="web", device_id="dx", ip_country="RU", card_country="US", merchant_reference="m2",
                      at=burst + dt.timedelta(minutes=8))
    risky = model_scorer(ctx)
    assert risky.model_version == active_model()["version"]
    assert risky.score >= 90 and (risky.level, risky.decision) == ("highest", "block")
    assert 1 <= len(risky.explanation) <= 4 and risky.reasons == [e["feature"] for e in risky.explanation]
    first = risky.explanation[0]
    assert set(first) == {"feature", "value", "usual", "contribution", "text"} and first["contribution"] > 0
    count = {e["feature"]: e for e in risky.explanation}.get("count_1h")
    if count:
        assert count["text"].startswith("15 payments in the last hour; usual:")
    usual = model_scorer(RiskContext(customer_id=customer.id, customer_status="active", amount=4100, currency="USD",
                                     method="card", channel="web", device_id="d1", ip_country="US",
                                     card_country="US", merchant_reference="m1",
                                     at=start + dt.timedelta(days=11, hours=1)))
    assert usual.decision == "allow" and usual.score < 50
    risk_thresholds_save(actor=ACTOR, review_at=1, block_at=99)
    assert decide(usual.score + 1) == ("elevated", "review")
    assert model_scorer(ctx).decision in ("review", "block")


def test_thresholds_to_decisions():
    class T:
        review_at, block_at = 50, 90

    assert [decide(s, T) for s in (0, 49, 50, 89, 90, 100)] == [
        ("normal", "allow"), ("normal", "allow"), ("elevated", "review"), ("elevated", "review"),
        ("highest", "block"), ("highest", "block")]


@pytest.mark.django_db
def test_without_an_active_model_the_rules_decide(settings):
    settings.PAYMENTS_RISK_SCORER = "payments.risk.scorer.model_scorer"
    customer = CustomerFactory()
    result = score_payment(RiskContext(customer_id=customer.id, customer_status="active", amount=500, currency="USD",
                                       method="card", channel="moto"))
    assert (result.model_version, result.score, result.reasons) == ("rules-1", 25, ["channel_moto"])


@pytest.mark.django_db
def test_thresholds_are_validated_and_audited():
    from core.errors import ValidationFailed
    from core.models import AuditEvent
    from payments.models import RiskThresholds

    with pytest.raises(ValidationFailed):
        risk_thresholds_save(actor=ACTOR, review_at=80, block_at=70)
    assert not RiskThresholds.objects.exists() and not AuditEvent.objects.filter(action="risk_thresholds.updated")
    row = risk_thresholds_save(actor=ACTOR, review_at=40, block_at=80)
    assert (row.review_at, row.block_at) == (40, 80)
    event = AuditEvent.objects.get(action="risk_thresholds.updated")
    assert event.details == {"before": {"review_at": 50, "block_at": 90}, "after": {"review_at": 40, "block_at": 80}}


@pytest.mark.django_db(transaction=True)  # outside a test transaction, as in production: the caches apply
def test_a_score_costs_one_query_once_the_model_thresholds_and_rules_are_cached(small_frame):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from payments.models import RiskRule
    from payments.risk.rules import risk_rule_save

    trained = fraud_model.train(small_frame, rounds=20)
    fraud_model.register(actor=ACTOR, trained=trained, data_fingerprint="b" * 64, activate=True)
    risk_rule_save(actor=ACTOR, rule=RiskRule(name="far-away", condition='ip_country in ["RU"]', action="review"))
    customer = CustomerFactory()
    start = dt.datetime(2025, 6, 1, 12, tzinfo=dt.UTC)
    for k in range(5):
        at = start + dt.timedelta(days=k)
        Payment.objects.create(customer=customer, amount=4000, currency="USD", method="card", payment_method="tok",
                               status="succeeded", device_id="d1", ip_country="US", card_country="US", channel="web",
                               merchant_reference="m1", fraud_label=False, created=at, updated=at)
    ctx = RiskContext(customer_id=customer.id, customer_status="active", amount=4200, currency="USD", method="card",
                      channel="web", device_id="d1", ip_country="RU", card_country="US", merchant_reference="m1",
                      at=start + dt.timedelta(days=6))

    def queries(c=ctx) -> tuple[list[str], object]:
        with CaptureQueriesContext(connection) as captured:
            result = model_scorer(c)
        # The first table named (a time's EXTRACT(EPOCH FROM created) comes before it in the history's statement).
        return [re.search(r'FROM "?([a-z]+_[a-z_]+)', q["sql"])[1] for q in captured.captured_queries], result

    # Cold: which model is active, its artifact, the stored history (customer's and merchant's payments,
    # first payment, label counts: one statement), thresholds, rules.
    tables, cold = queries()
    assert tables == ["core_mlmodel", "core_mlmodel", "payments_payment", "payments_riskthresholds",
                      "payments_riskrule"]
    tables, warm = queries()
    assert tables == ["payments_payment"]
    assert (warm.score, warm.rules_fired, warm.decision) == (cold.score, ["far-away"], "review")
    # A staff change is seen on the next score.
    risk_thresholds_save(actor=ACTOR, review_at=1, block_at=2)
    tables, strict = queries()
    assert tables == ["payments_payment", "payments_riskthresholds"]
    assert strict.decision == ("block" if warm.score >= 2 else "review")
    # A customer and a merchant without payments in the last 31 days, and a payment without a merchant: the
    # same one statement.
    later, nowhere = (dataclasses.replace(ctx, at=start + dt.timedelta(days=60)),
                      dataclasses.replace(ctx, merchant_reference=""))
    for quiet in (later, nowhere):
        tables, _ = queries(quiet)
        assert tables == ["payments_payment"]
    values = features_for(later)
    assert (values["history_30d"], values["account_age_days"], values["merchant_labelled"],
            values["merchant_count_24h"]) == (0.0, 60.0, 5.0, 0.0)
    values = features_for(nowhere)
    assert (values["history_30d"], values["account_age_days"]) == (5.0, 6.0)
    assert all(np.isnan(values[name]) for name in MERCHANT_FEATURES)
