import pytest

from core.errors import DomainError
from subscriptions import services
from subscriptions.models import Invoice, InvoiceLine, InvoiceSequence, Subscription

from .conftest import at

pytestmark = pytest.mark.django_db


def test_create_without_trial_pays_first_invoice_from_wallet(actor, customer, make_plan, make_wallet, travel):
    travel(at(2026, 1, 31, 9))
    plan = make_plan(amount=2500)
    wallet = make_wallet(customer=customer, balance=10_000)
    sub = services.subscription_create(actor=actor, customer_id=customer.id, plan_id=plan.id, quantity=2,
                                       wallet_id=wallet.id)
    assert sub.status == "active"
    assert (sub.current_period_start, sub.current_period_end) == (at(2026, 1, 31, 9), at(2026, 2, 28, 9))
    invoice = sub.invoices.get()
    assert (invoice.number, invoice.status, invoice.total, invoice.amount_paid, invoice.billing_reason) == (
        "INV-2026-000001", "paid", 5000, 5000, "subscription_create")
    assert [(line.quantity, line.unit_amount, line.amount, line.proration) for line in invoice.lines.all()] == [
        (2, 2500, 5000, False)]
    wallet.account.refresh_from_db()
    assert wallet.account.balance == 5000


def test_failed_first_payment_leaves_incomplete_then_expires_after_23h(actor, customer, make_plan, travel):
    travel(at(2026, 3, 1))
    plan = make_plan()
    sub = services.subscription_create(actor=actor, customer_id=customer.id, plan_id=plan.id,
                                       payment_method="tok_decline_insufficient_funds")
    assert sub.status == "incomplete"
    invoice = sub.invoices.get()
    assert (invoice.status, invoice.attempt_count, invoice.last_failure_code, invoice.next_payment_attempt) == (
        "open", 1, "insufficient_funds", None)
    travel(at(2026, 3, 1, 22, 59))
    services.billing_run(actor=actor)
    assert Subscription.objects.get(pk=sub.pk).status == "incomplete"
    travel(at(2026, 3, 1, 23, 0))
    run = services.billing_run(actor=actor)
    assert run.expired == 1
    sub.refresh_from_db()
    invoice.refresh_from_db()
    assert (sub.status, invoice.status) == ("incomplete_expired", "void")


def test_incomplete_paid_later_becomes_active(actor, customer, make_plan, travel):
    travel(at(2026, 3, 1))
    plan = make_plan()
    sub = services.subscription_create(actor=actor, customer_id=customer.id, plan_id=plan.id,
                                       payment_method="tok_decline_generic")
    Subscription.objects.filter(pk=sub.pk).update(payment_method="tok_visa")
    invoice = services.invoice_pay(actor=actor, invoice_id=sub.invoices.get().id)
    sub.refresh_from_db()
    assert (invoice.status, invoice.attempt_count, sub.status) == ("paid", 2, "active")


def test_trial_then_first_cycle_invoice(actor, customer, make_plan, travel):
    travel(at(2026, 1, 10))
    plan = make_plan(amount=1000, trial_days=14)
    sub = services.subscription_create(actor=actor, customer_id=customer.id, plan_id=plan.id,
                                       payment_method="tok_visa")
    assert (sub.status, sub.trial_end, sub.invoices.count()) == ("trialing", at(2026, 1, 24), 0)
    travel(at(2026, 1, 24))
    run = services.billing_run(actor=actor)
    sub.refresh_from_db()
    assert (run.renewed, run.payments_succeeded, sub.status) == (1, 1, "active")
    assert (sub.current_period_start, sub.current_period_end) == (at(2026, 1, 24), at(2026, 2, 24))
    invoice = sub.invoices.get()
    assert (invoice.status, invoice.total, invoice.period_start, invoice.billing_reason) == (
        "paid", 1000, at(2026, 1, 24), "subscription_cycle")


def test_invoice_numbers_are_gapless_per_year_and_taken_at_finalisation(actor, make_plan, travel):
    from tests.factories import CustomerFactory

    plan = make_plan(amount=100)
    travel(at(2026, 12, 31, 23))
    for _ in range(2):
        services.subscription_create(actor=actor, customer_id=CustomerFactory().id, plan_id=plan.id,
                                     payment_method="tok_visa")
    # A refused creation (bad payment source) takes no number.
    with pytest.raises(DomainError):
        services.subscription_create(actor=actor, customer_id=CustomerFactory().id, plan_id=plan.id,
                                     wallet_id="wal_missing")
    travel(at(2027, 1, 1, 0, 0, 1))
    services.subscription_create(actor=actor, customer_id=CustomerFactory().id, plan_id=plan.id,
                                 payment_method="tok_visa")
    assert sorted(Invoice.objects.values_list("number", flat=True)) == [
        "INV-2026-000001", "INV-2026-000002", "INV-2027-000001"]
    assert dict(InvoiceSequence.objects.values_list("year", "last")) == {2026: 2, 2027: 1}


def test_cancel_at_period_end_then_now(actor, customer, make_plan, travel):
    travel(at(2026, 4, 1))
    plan = make_plan()
    sub = services.subscription_create(actor=actor, customer_id=customer.id, plan_id=plan.id,
                                       payment_method="tok_visa")
    sub = services.subscription_cancel(actor=actor, subscription_id=sub.id, at_period_end=True)
    assert (sub.status, sub.cancel_at_period_end) == ("active", True)
    travel(at(2026, 5, 1))
    run = services.billing_run(actor=actor)
    sub.refresh_from_db()
    assert (run.canceled, run.invoices_created, sub.status, sub.ended_at) == (1, 0, "canceled", at(2026, 5, 1))
    with pytest.raises(DomainError) as exc:
        services.subscription_cancel(actor=actor, subscription_id=sub.id)
    assert exc.value.code == "invalid_state_transition"


def test_pause_is_not_invoiced_and_resume_starts_a_new_period(actor, customer, make_plan, travel):
    travel(at(2026, 4, 1))
    plan = make_plan(amount=1200)
    sub = services.subscription_create(actor=actor, customer_id=customer.id, plan_id=plan.id,
                                       payment_method="tok_visa")
    services.subscription_pause(actor=actor, subscription_id=sub.id)
    travel(at(2026, 6, 15))
    services.billing_run(actor=actor)
    assert sub.invoices.count() == 1
    sub = services.subscription_resume(actor=actor, subscription_id=sub.id)
    assert (sub.status, sub.current_period_start, sub.current_period_end) == (
        "active", at(2026, 6, 15), at(2026, 7, 15))
    assert list(sub.invoices.order_by("created").values_list("billing_reason", "status", "total")) == [
        ("subscription_create", "paid", 1200), ("subscription_resume", "paid", 1200)]


def test_void_and_uncollectible_refusals_change_nothing(actor, customer, make_plan, travel):
    travel(at(2026, 4, 1))
    plan = make_plan()
    sub = services.subscription_create(actor=actor, customer_id=customer.id, plan_id=plan.id,
                                       payment_method="tok_visa")
    paid = sub.invoices.get()
    for call in (services.invoice_void, services.invoice_mark_uncollectible):
        with pytest.raises(DomainError) as exc:
            call(actor=actor, invoice_id=paid.id)
        assert exc.value.code == "invalid_state_transition"
    paid.refresh_from_db()
    assert (paid.status, paid.voided_at) == ("paid", None)


def test_archived_plan_refuses_new_subscriptions(actor, customer, make_plan):
    plan = make_plan()
    services.plan_archive(actor=actor, plan_id=plan.id)
    with pytest.raises(DomainError) as exc:
        services.subscription_create(actor=actor, customer_id=customer.id, plan_id=plan.id,
                                     payment_method="tok_visa")
    assert exc.value.code == "plan_inactive"
    assert Subscription.objects.count() == 0 and InvoiceLine.objects.count() == 0
