"""Proration for upgrades, downgrades and quantity changes in 28, 30 and 31-day months."""

import pytest

from core.errors import DomainError
from subscriptions import services
from subscriptions.models import Invoice, InvoiceLine, Subscription, SubscriptionEvent

from .conftest import at

pytestmark = pytest.mark.django_db


@pytest.fixture
def subscribed(actor, customer, make_plan, travel):
    def make(start, amount=3000, quantity=1):
        travel(start)
        basic, pro = make_plan(amount=amount, name="Basic"), make_plan(amount=2 * amount, name="Pro")
        sub = services.subscription_create(actor=actor, customer_id=customer.id, plan_id=basic.id,
                                           quantity=quantity, payment_method="tok_visa")
        return sub, basic, pro
    return make


def _lines(result):
    return [(line.amount, line.quantity, line.unit_amount, line.proration) for line in result.lines]


def test_upgrade_in_28_day_february(actor, subscribed, travel):
    sub, basic, pro = subscribed(at(2026, 2, 1))
    travel(at(2026, 2, 15))  # 14 of 28 days left
    result = services.subscription_change(actor=actor, subscription_id=sub.id, plan_id=pro.id)
    assert _lines(result) == [(-1500, 1, 3000, True), (3000, 1, 6000, True)]
    assert result.amount_due == 1500
    pending = list(InvoiceLine.objects.filter(subscription=sub, invoice__isnull=True).values_list("amount", flat=True))
    assert pending == [-1500, 3000]
    # Next renewal: the new price for the new period plus the pending prorations.
    travel(at(2026, 3, 1))
    services.billing_run(actor=actor)
    renewal = sub.invoices.get(billing_reason="subscription_cycle")
    assert sorted(renewal.lines.values_list("amount", flat=True)) == [-1500, 3000, 6000]
    assert (renewal.total, renewal.status) == (7500, "paid")


def test_downgrade_in_30_day_april(actor, subscribed, travel):
    sub, basic, pro = subscribed(at(2026, 4, 1))
    services.subscription_change(actor=actor, subscription_id=sub.id, plan_id=pro.id, proration_behavior="none")
    travel(at(2026, 4, 11))  # 20 of 30 days left
    result = services.subscription_change(actor=actor, subscription_id=sub.id, plan_id=basic.id)
    assert _lines(result) == [(-4000, 1, 6000, True), (2000, 1, 3000, True)]
    assert result.amount_due == -2000


def test_quantity_change_in_31_day_january_rounds_half_up(actor, subscribed, travel):
    sub, basic, _ = subscribed(at(2026, 1, 1), quantity=2)
    travel(at(2026, 1, 11, 12))  # 20.5 of 31 days left
    result = services.subscription_change(actor=actor, subscription_id=sub.id, quantity=3)
    # 6000 x 20.5/31 = 3967.74 -> 3968; 9000 x 20.5/31 = 5951.61 -> 5952
    assert _lines(result) == [(-3968, 2, 3000, True), (5952, 3, 3000, True)]
    sub.refresh_from_db()
    assert (sub.plan_id, sub.quantity) == (basic.id, 3)


def test_upgrade_in_31_day_month_to_the_second(actor, subscribed, travel):
    sub, _, pro = subscribed(at(2026, 3, 1))
    travel(at(2026, 3, 31, 23, 59, 59))  # 1 second of 2,678,400 left
    result = services.subscription_change(actor=actor, subscription_id=sub.id, plan_id=pro.id)
    assert _lines(result) == [(0, 1, 3000, True), (0, 1, 6000, True)]
    travel(at(2026, 3, 16, 12))  # exactly half: 1,339,200 s
    other, _, pro2 = subscribed(at(2026, 3, 1), amount=3001)
    travel(at(2026, 3, 16, 12))
    result = services.subscription_change(actor=actor, subscription_id=other.id, plan_id=pro2.id)
    assert _lines(result) == [(-1501, 1, 3001, True), (3001, 1, 6002, True)]  # 1500.5 -> 1501


def test_preview_writes_nothing(actor, subscribed, travel):
    sub, _, pro = subscribed(at(2026, 2, 1))
    travel(at(2026, 2, 15))
    counts = (InvoiceLine.objects.count(), Invoice.objects.count(), SubscriptionEvent.objects.count())
    result = services.subscription_change(actor=actor, subscription_id=sub.id, plan_id=pro.id,
                                          proration_behavior="always_invoice", preview=True)
    assert (result.preview, _lines(result)) == (True, [(-1500, 1, 3000, True), (3000, 1, 6000, True)])
    assert (InvoiceLine.objects.count(), Invoice.objects.count(), SubscriptionEvent.objects.count()) == counts
    assert Subscription.objects.get(pk=sub.pk).plan_id != pro.id


def test_always_invoice_charges_now(actor, subscribed, travel):
    sub, _, pro = subscribed(at(2026, 2, 1))
    travel(at(2026, 2, 15))
    result = services.subscription_change(actor=actor, subscription_id=sub.id, plan_id=pro.id,
                                          proration_behavior="always_invoice")
    assert (result.invoice.status, result.invoice.total, result.invoice.billing_reason) == (
        "paid", 1500, "subscription_update")
    assert not InvoiceLine.objects.filter(subscription=sub, invoice__isnull=True).exists()


def test_downgrade_credit_beyond_next_invoice_is_carried_forward(actor, customer, make_plan, travel):
    travel(at(2026, 4, 1))
    big, small = make_plan(amount=9000, name="Big"), make_plan(amount=1000, name="Small")
    sub = services.subscription_create(actor=actor, customer_id=customer.id, plan_id=big.id,
                                       payment_method="tok_visa")
    travel(at(2026, 4, 2))  # 29 of 30 days left: credit 8700, charge 967
    services.subscription_change(actor=actor, subscription_id=sub.id, plan_id=small.id)
    travel(at(2026, 5, 1))
    services.billing_run(actor=actor)
    renewal = sub.invoices.get(billing_reason="subscription_cycle")
    assert (renewal.total, renewal.status) == (0, "paid")
    assert list(InvoiceLine.objects.filter(subscription=sub, invoice__isnull=True).values_list("amount", flat=True)) \
        == [-(8700 - 967 - 1000)]


@pytest.mark.parametrize("kwargs,code", [
    ({"plan_id": "plan_nope"}, "not_found"),
    ({"quantity": 0}, "validation_error"),
    ({}, "validation_error"),
    ({"proration_behavior": "sometimes", "quantity": 2}, "validation_error"),
])
def test_bad_changes_refused_and_nothing_changes(actor, subscribed, kwargs, code):
    sub, basic, _ = subscribed(at(2026, 2, 1))
    with pytest.raises(DomainError) as exc:
        services.subscription_change(actor=actor, subscription_id=sub.id, **kwargs)
    assert exc.value.code == code
    sub.refresh_from_db()
    assert (sub.plan_id, sub.quantity, InvoiceLine.objects.filter(invoice__isnull=True).count()) == (basic.id, 1, 0)


def test_currency_mismatch_refused(actor, subscribed, make_plan):
    sub, _, _ = subscribed(at(2026, 2, 1))
    eur = make_plan(currency="EUR")
    with pytest.raises(DomainError) as exc:
        services.subscription_change(actor=actor, subscription_id=sub.id, plan_id=eur.id)
    assert (exc.value.code, exc.value.status) == ("currency_mismatch", 422)
