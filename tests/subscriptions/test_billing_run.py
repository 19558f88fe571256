"""Billing runs: one invoice per subscription and period, even with two runs at once or a
run killed half way and rerun."""


import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction

from payments.models import Payment
from subscriptions import services
from subscriptions.models import BillingRun, Invoice, InvoiceAttempt
from subscriptions.services import attempts, billing
from tests.concurrency import failures, run_threads
from tests.factories import CustomerFactory

from .conftest import at


class Killed(BaseException):
    """Like a killed worker: not an Exception, so nothing in the run records or handles it."""


def _subscribe_many(actor, plan, n, token="tok_visa"):
    return [services.subscription_create(actor=actor, customer_id=CustomerFactory().id, plan_id=plan.id,
                                         payment_method=token).id for _ in range(n)]


def _assert_one_invoice_per_period(sub_ids):
    cycle = Invoice.objects.filter(subscription_id__in=sub_ids, billing_reason="subscription_cycle")
    assert cycle.count() == len(sub_ids)
    assert set(cycle.values_list("status", flat=True)) == {"paid"}
    assert set(cycle.values_list("period_start", flat=True)) == {at(2026, 2, 1)}
    for invoice in cycle:
        payments = Payment.objects.filter(metadata__invoice_id=invoice.id)
        assert [p.status for p in payments] == ["succeeded"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_make_one_invoice_per_period(roles, actor, make_plan, travel):
    travel(at(2026, 1, 1))
    plan = make_plan(amount=1000)
    sub_ids = _subscribe_many(actor, plan, 24)
    travel(at(2026, 2, 1))
    runs = run_threads(2, lambda i: services.billing_run(actor=actor, chunk_size=5))
    assert failures(runs) == []
    assert sum(r.renewed for r in runs) == 24
    assert sum(r.payments_succeeded for r in runs) == 24
    assert {r.status for r in runs} == {"succeeded"}
    _assert_one_invoice_per_period(sub_ids)


@pytest.mark.django_db
def test_the_database_refuses_a_second_invoice_for_a_period(actor, customer, make_plan, travel):
    travel(at(2026, 1, 1))
    plan = make_plan()
    sub = services.subscription_create(actor=actor, customer_id=customer.id, plan_id=plan.id,
                                       payment_method="tok_visa")
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.create(subscription=sub, customer=customer, status="draft", billing_reason="subscription_cycle",
                               currency="USD", period_start=sub.current_period_start,
                               period_end=sub.current_period_end, created=at(2026, 1, 1), updated=at(2026, 1, 1))


@pytest.mark.django_db
def test_run_killed_during_renewal_then_rerun_completes(actor, make_plan, travel, monkeypatch):
    travel(at(2026, 1, 1))
    plan = make_plan(amount=1000)
    sub_ids = _subscribe_many(actor, plan, 7)
    travel(at(2026, 2, 1))

    def kill(phase):
        if phase == "renew":
            raise Killed

    monkeypatch.setattr(billing, "after_chunk", kill)
    with pytest.raises(Killed):
        services.billing_run(actor=actor, chunk_size=3)
    assert Invoice.objects.filter(billing_reason="subscription_cycle").count() == 3
    assert BillingRun.objects.get().status == "running"  # killed: nobody recorded an end
    monkeypatch.setattr(billing, "after_chunk", None)
    run = services.billing_run(actor=actor, chunk_size=3)
    assert (run.status, run.renewed, run.payments_succeeded) == ("succeeded", 4, 7)
    _assert_one_invoice_per_period(sub_ids)


@pytest.mark.django_db
def test_run_killed_around_the_charge_is_settled_without_charging_twice(actor, make_plan, travel, monkeypatch):
    travel(at(2026, 1, 1))
    plan = make_plan(amount=1000)
    sub_ids = _subscribe_many(actor, plan, 4)
    travel(at(2026, 2, 1))
    # The run charges each chunk through the batch path; chunks of one invoice crash it per invoice.
    real_batch, calls = attempts.payment_create_batch, []

    def dying_batch(*, actor, requests):
        calls.append([r.metadata["invoice_id"] for r in requests])
        if len(calls) == 2:
            raise Killed  # before the provider call: nothing was charged
        result = real_batch(actor=actor, requests=requests)
        if len(calls) == 3:
            raise Killed  # after the charge, before we recorded it
        return result

    monkeypatch.setattr(attempts, "payment_create_batch", dying_batch)
    with pytest.raises(Killed):
        services.billing_run(actor=actor, chunk_size=1)
    with pytest.raises(Killed):
        services.billing_run(actor=actor, chunk_size=1)
    monkeypatch.setattr(attempts, "payment_create_batch", real_batch)
    assert Payment.objects.filter(metadata__invoice_id=calls[2][0], status="succeeded").count() == 1
    # Within the lease the claimed invoices are left alone...
    assert services.billing_run(actor=actor).payments_attempted == 1
    # ...after it, the next run settles them: the charged one from its payment, the other charged once.
    travel(at(2026, 2, 1, 0, 16))
    services.billing_run(actor=actor)
    _assert_one_invoice_per_period(sub_ids)
    assert InvoiceAttempt.objects.filter(failure_code="interrupted").count() == 1
    # Never charged twice: one succeeded payment per cycle invoice, the crashed-after-charge one included.
    for invoice in Invoice.objects.filter(billing_reason="subscription_cycle"):
        assert (invoice.status, Payment.objects.filter(metadata__invoice_id=invoice.id).count()) == ("paid", 1)


@pytest.mark.django_db
def test_run_billing_command_as_of_a_time(actor, customer, make_plan, travel):
    import io

    travel(at(2026, 1, 31, 12))
    plan = make_plan(amount=700)
    sub = services.subscription_create(actor=actor, customer_id=customer.id, plan_id=plan.id,
                                       payment_method="tok_visa")
    out = io.StringIO()
    call_command("run_billing", "--now", "2026-02-28T12:00:00Z", stdout=out)
    assert "renewed 1, invoices 1, payments 1 (1 paid, 0 failed)" in out.getvalue()
    sub.refresh_from_db()
    assert (sub.current_period_start, sub.current_period_end) == (at(2026, 2, 28, 12), at(2026, 3, 31, 12))
    run = BillingRun.objects.get()
    assert (run.as_of, run.triggered_by) == (at(2026, 2, 28, 12), "manage.py run_billing")


@pytest.mark.django_db
def test_celery_task_and_beat_rows(actor, customer, make_plan, travel):
    from django_celery_beat.models import PeriodicTask

    from subscriptions.tasks import BILLING_TASK_NAME, run_billing_cycle

    assert PeriodicTask.objects.get(task=BILLING_TASK_NAME).interval.every == 15
    travel(at(2026, 1, 1))
    plan = make_plan()
    services.subscription_create(actor=actor, customer_id=customer.id, plan_id=plan.id, payment_method="tok_visa")
    travel(at(2026, 2, 1))
    run_id = run_billing_cycle.apply().get()
    run = BillingRun.objects.get(pk=run_id)
    assert (run.renewed, run.payments_succeeded, run.triggered_by) == (1, 1, "celery beat")
