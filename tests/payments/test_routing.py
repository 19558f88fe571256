import datetime as dt

import pytest

from core import clock
from core.errors import InvalidStateTransition
from payments import routing
from payments.models import Payment, PaymentAttempt, ProviderStat, RoutingRule
from payments.services import payment_cancel, payment_capture, payment_create, payment_review

pytestmark = pytest.mark.django_db


def rule(**kwargs):
    now = clock.now()
    kwargs.setdefault("name", "rule")
    return RoutingRule.objects.create(created=now, updated=now, **kwargs)


def test_failover_on_unreachable_provider(settings, actor, customer, seeded_routing):
    settings.PAYMENTS_PROVIDERS = {"down": {"type": "sandbox", "unreachable_rate": 1.0},
                                   "up": {"type": "sandbox"}}
    rule(allowed_providers=["down", "up"], learning=False)
    payment = payment_create(actor=actor, customer_id=customer.id, amount=1_000, currency="USD", method="card",
                             payment_method="tok_visa")
    assert (payment.status, payment.provider) == ("succeeded", "up")
    attempts = list(payment.attempts.values_list("provider", "status", "decline_code"))
    assert attempts == [("down", "unreachable", "provider_unavailable"), ("up", "captured", "")]
    second = payment.attempts.get(sequence=2)
    assert second.reason["failover_from"] == ["down"] and second.reason["strategy"] == "only_candidate"


def test_failover_on_retriable_decline_but_not_on_hard_decline(settings, actor, customer):
    settings.PAYMENTS_PROVIDERS = {"flaky": {"type": "sandbox", "approval_rate": 0.0}, "good": {"type": "sandbox"}}
    order = rule(allowed_providers=["flaky", "good"], learning=False)
    ok = payment_create(actor=actor, customer_id=customer.id, amount=1_000, currency="USD", method="card",
                        payment_method="tok_visa")
    assert [a.decline_code for a in ok.attempts.all()] == ["processing_error", ""]
    assert ok.status == "succeeded" and ok.provider == "good"
    settings.PAYMENTS_PROVIDERS = {"first": {"type": "sandbox"}, "good": {"type": "sandbox"}}
    # Saved as the admin saves it (routing_rule_save): this process's cached rules are cleared.
    order.allowed_providers = ["first", "good"]
    order.save()
    hard = payment_create(actor=actor, customer_id=customer.id, amount=1_000, currency="USD", method="card",
                          payment_method="tok_decline_insufficient_funds")
    assert hard.status == "failed" and hard.attempts.count() == 1 and hard.provider == "first"


def test_timeout_is_unknown_without_failover(settings, actor, customer):
    settings.PAYMENTS_PROVIDERS = {"a": {"type": "sandbox"}, "b": {"type": "sandbox"}}
    payment = payment_create(actor=actor, customer_id=customer.id, amount=1_000, currency="USD", method="card",
                             payment_method="tok_timeout")
    assert payment.status == "unknown"
    assert list(payment.attempts.values_list("status", flat=True)) == ["unknown"]
    assert payment.amount_captured == 0


def test_rules_restrict_and_disable_providers(settings, actor, customer):
    settings.PAYMENTS_PROVIDERS = {"a": {"type": "sandbox"}, "b": {"type": "sandbox"}, "c": {"type": "sandbox"}}
    rule(name="eur", currency="EUR", allowed_providers=["c", "b"], disabled_providers=["c"], priority=1)
    assert routing.eligible(currency="EUR", method="card")[0] == ["b"]
    assert routing.eligible(currency="USD", method="card")[0] == ["a", "b", "c"]
    payment = payment_create(actor=actor, customer_id=customer.id, amount=1_000, currency="EUR", method="card",
                             payment_method="tok_visa")
    assert payment.provider == "b"
    assert payment.attempts.get().reason["rule"] == "eur"


def test_no_provider_is_a_failed_payment(settings, actor, customer):
    settings.PAYMENTS_PROVIDERS = {"a": {"type": "sandbox", "currencies": ["EUR"]}}
    payment = payment_create(actor=actor, customer_id=customer.id, amount=1_000, currency="USD", method="card",
                             payment_method="tok_visa")
    assert (payment.status, payment.failure_code) == ("failed", "no_provider_available")


def test_routing_converges_on_the_better_provider(settings, actor, customer, seeded_routing):
    """95% vs 70% approval: Thompson sampling sends most first attempts to the better one."""
    settings.PAYMENTS_PROVIDERS = {"good": {"type": "sandbox", "approval_rate": 0.95, "seed": 1},
                                   "poor": {"type": "sandbox", "approval_rate": 0.70, "seed": 2}}
    settings.PAYMENTS_MAX_ATTEMPTS = 1
    # Statistics are read once per interval: one payment per interval, so each sees the ones before it
    # (all 300 within one hour, so each provider has one stat row).
    settings.PAYMENTS_ROUTING_STATS_SECONDS = 10
    start, firsts = clock.now().replace(minute=0, second=0, microsecond=0), []
    for n in range(300):
        with clock.frozen_at(start + dt.timedelta(seconds=10 * n)):
            payment = payment_create(actor=actor, customer_id=customer.id, amount=500, currency="USD",
                                     method="card", payment_method="tok_visa")
        firsts.append(payment.attempts.get(sequence=1).provider)
    late = firsts[-100:]
    assert late.count("good") >= 85, late.count("good")
    assert 0 < firsts.count("poor") < 75  # it explored the poor one, then mostly left it
    stats = {s["provider"]: s for s in ProviderStat.objects.values("provider", "attempts", "successes")}
    assert stats["good"]["attempts"] + stats["poor"]["attempts"] == 300
    good_rate = stats["good"]["successes"] / stats["good"]["attempts"]
    assert good_rate > 0.85
    decision = PaymentAttempt.objects.filter(provider="good").last().reason
    assert decision["strategy"] == "thompson_sampling" and set(decision["samples"]) == {"good", "poor"}


def test_risk_review_holds_for_analyst_and_block_fails(pay, actor, customer):
    held = pay(amount=1_000_000, channel="moto")  # 10,000.00 USD by phone: score 70
    assert (held.status, held.risk_decision, held.review_status, held.risk_score) == (
        "requires_capture", "review", "pending", 70)
    assert held.risk_reasons == ["amount_very_high", "channel_moto"]
    with pytest.raises(InvalidStateTransition):
        payment_capture(actor=actor, payment_id=held.id)
    approved = payment_review(actor=actor, payment_id=held.id, decision="approve")
    assert (approved.status, approved.amount_captured, approved.review_status) == ("succeeded", 1_000_000,
                                                                                    "approved")
    other = pay(amount=1_000_000, channel="moto")
    rejected = payment_review(actor=actor, payment_id=other.id, decision="reject")
    assert (rejected.status, rejected.review_status, rejected.cancellation_reason) == ("canceled", "rejected",
                                                                                       "risk_rejected")
    # Canceled at the provider while held (not through the review): nothing is left to approve.
    canceled = payment_cancel(actor=actor, payment_id=pay(amount=1_000_000, channel="moto").id)
    assert Payment.objects.filter(pk=canceled.id).values_list("status", "review_status", "cancellation_reason").get() \
        == ("canceled", "rejected", "requested")
    customer.status = "blocked"
    customer.save()
    blocked = pay()
    assert (blocked.status, blocked.failure_code, blocked.risk_decision) == ("failed", "blocked_by_risk", "block")
    assert blocked.attempts.count() == 0
    assert Payment.objects.filter(status="succeeded").count() == 1
