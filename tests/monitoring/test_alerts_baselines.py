"""The baseline rules: the payment success rate's z-score against the same hour on previous days, and a
provider's decline rate against its own recent hours."""

import datetime as dt

import pytest
from django.core import mail

from core import clock
from monitoring.alerts.rules import evaluate_all
from monitoring.models import Alert
from payments.models import Payment, PaymentAttempt, ProviderStat
from tests.monitoring.alertkit import at, rule

pytestmark = pytest.mark.django_db
# Succeeded out of 20 at 11:00-12:00 on each of the 7 previous days: mean 90%, sample std 4.1 points.
NORMAL_WEEK = [18, 19, 18, 17, 19, 18, 17]


def pay(customer, when, status, amount=1_000, currency="USD", provider="sandbox"):
    return Payment.objects.create(customer=customer, amount=amount, currency=currency, method="card",
                                  payment_method="tok_visa", status=status, provider=provider, created=when,
                                  updated=when)


def day_of(customer, day_start, succeeded, total=20, amount=1_000):
    for i in range(total):
        pay(customer, day_start + dt.timedelta(minutes=2 * i + 1), "succeeded" if i < succeeded else "failed",
            amount=amount)


def week(customer):
    for days_ago, succeeded in enumerate(NORMAL_WEEK, start=1):
        day_of(customer, at(-60, days=-days_ago).replace(second=0), succeeded)


def run(moment):
    with clock.frozen_at(moment):
        return evaluate_all()


def zrule():
    return rule("payment_success_drop", window=60, params={"days": 7, "z_threshold": 3.0, "min_payments": 20,
                                                           "min_baseline_days": 3, "min_std": 0.02})


def test_a_normal_day_does_not_fire(customer):
    zrule()
    week(customer)
    day_of(customer, at(-60).replace(second=0), 17)  # 85%: within the week's spread (z = -1.2)
    assert run(at())["created"] == 0 and not Alert.objects.exists() and mail.outbox == []


def test_a_drop_fires_with_the_numbers_and_resolves_when_the_hour_recovers(customer):
    r = zrule()
    week(customer)
    day_of(customer, at(-60).replace(second=0), 8, amount=2_550)  # 40%: 12 failed, 306.00 USD
    assert run(at())["created"] == 1
    alert = Alert.objects.get()
    assert (alert.source, alert.dedup_key) == ("payment_success_drop", f"rule:{r.pk}:all")
    assert alert.details == {
        "succeeded": 8, "failed": 12, "success_rate": 0.4,
        "baseline_rates": [0.9, 0.95, 0.9, 0.85, 0.95, 0.9, 0.85], "baseline_mean": 0.9, "baseline_std": 0.0408,
        "z": -12.247, "since": "2026-03-10T11:00:00Z", "until": "2026-03-10T12:00:00Z"}
    assert alert.title == "Payment success rate dropped to 40.0% (z = -12.2)"
    assert alert.reason == ("8 of 20 payments succeeded in the 60 min to 2026-03-10T12:00:00Z: 40.0% against 90.0% "
                            "(std 4.1%) at the same hour over the previous 7 days, z = -12.25 (threshold -3.0).")
    assert alert.impact == {"volume": 12, "volume_label": "failed payments", "amounts": {"USD": "306.00"}}
    # abnormality 25 x (12.25 / 3 - 1) = 84 -> 50, volume 25 x log10(13) / 3 = 9, amount 25 x log10(307) / 5 = 12.
    assert (alert.rank_score, alert.severity) == (71, "high")
    assert "amount 12 (306.00 USD affected)" in alert.rank_reason
    assert len(mail.outbox) == 1
    run(at(1))
    alert.refresh_from_db()
    assert alert.occurrence_count == 2 and len(mail.outbox) == 1
    # An hour later the window holds no payment: below min_payments, the condition no longer holds.
    run(at(61))
    alert.refresh_from_db()
    assert alert.status == "resolved" and len(mail.outbox) == 2


def test_too_little_history_does_not_fire(customer):
    zrule()
    day_of(customer, at(-60, days=-1).replace(second=0), 19)
    day_of(customer, at(-60, days=-2).replace(second=0), 19)
    day_of(customer, at(-60).replace(second=0), 2)
    assert run(at())["created"] == 0


def stat(provider, bucket, attempts, successes, currency="USD"):
    ProviderStat.objects.create(provider=provider, currency=currency, bucket=bucket, attempts=attempts,
                                successes=successes)


def test_provider_decline_jump_fires_for_that_provider_only_and_resolves(customer):
    r = rule("provider_decline_jump", window=60, params={"jump": 0.2, "min_attempts": 20, "baseline_hours": 24})
    hour = at().replace(minute=0, second=0)
    for h in range(2, 12):
        stat("sandbox", hour - dt.timedelta(hours=h), 10, 9)
        stat("other", hour - dt.timedelta(hours=h), 10, 9)
    stat("sandbox", hour - dt.timedelta(hours=1), 20, 10)
    stat("sandbox", hour, 10, 2)
    stat("other", hour, 30, 27)
    for i in range(3):
        payment = pay(customer, at(-10 + i), "failed", amount=10_000, currency="EUR")
        PaymentAttempt.objects.create(payment=payment, sequence=1, provider="sandbox", status="declined",
                                      created=at(-10 + i))
    run(at())
    alert = Alert.objects.get()
    assert (alert.dedup_key, alert.title) == (f"rule:{r.pk}:sandbox", "sandbox declines 60.0% (baseline 10.0%)")
    assert alert.reason == ("18 of 30 attempts at sandbox since 2026-03-10T11:00:00Z did not succeed: 60.0% against "
                            "10.0% (10 of 100) over the 24 h before, a jump of 50.0 points (threshold 20.0).")
    assert alert.impact == {"volume": 18, "volume_label": "unsuccessful attempts", "amounts": {"EUR": "300.00"}}
    run(at(1))
    alert.refresh_from_db()
    assert alert.occurrence_count == 2
    run(at(121))  # two hours on: no attempts in the window, below min_attempts
    alert.refresh_from_db()
    assert alert.status == "resolved"
