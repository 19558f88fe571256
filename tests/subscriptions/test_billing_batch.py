"""One rule for a chunk and for one: a billing run's chunk of one writes what a larger chunk writes, and an
invoice paid by hand what a billing run writes for it."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.models import AuditEvent
from payments.models import Payment, PaymentAttempt
from subscriptions import services
from subscriptions.models import Invoice, InvoiceAttempt, InvoiceSequence, Notification, Subscription
from tests.factories import CustomerFactory
from wallets.models import JournalEntry, Posting
from wallets.selectors.verify import ledger_verify

from .conftest import at

pytestmark = pytest.mark.django_db


def _fields(obj, skip):
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields if f.attname not in skip}


def _rows(sub_id):
    """What billing wrote for a subscription's cycle invoice, without ids and numbers."""
    sub = Subscription.objects.get(pk=sub_id)
    invoice = Invoice.objects.get(subscription_id=sub_id, billing_reason="subscription_cycle")
    payment = Payment.objects.get(pk=invoice.payment_id)
    entry = JournalEntry.objects.get(idempotency_key=f"{payment.id}:capture")
    return {
        "sub": _fields(sub, {"id", "customer_id"}),
        "invoice": _fields(invoice, {"id", "number", "subscription_id", "customer_id", "payment_id"}),
        "lines": [_fields(line, {"id", "invoice_id", "subscription_id"}) for line in invoice.lines.all()],
        "attempts": [_fields(a, {"id", "invoice_id", "payment_id"}) for a in InvoiceAttempt.objects.filter(
            invoice=invoice)],
        "payment": _fields(payment, {"id", "customer_id", "metadata", "description", "provider_reference",
                                      "capture_entry_id"}),
        "payment_attempts": [_fields(a, {"id", "payment_id", "provider_reference", "latency_ms"})
                             for a in PaymentAttempt.objects.filter(payment=payment)],
        "postings": [(p.account_id, p.amount, p.kind) for p in Posting.objects.filter(entry=entry).order_by("id")],
        "audit": sorted((a.action, sorted((k, v) for k, v in a.details.items() if k not in ("number", "payment_id")))
                        for a in AuditEvent.objects.filter(object_id__in=[invoice.id, payment.id])),
    }


def test_a_chunk_of_one_writes_the_rows_of_a_larger_chunk(actor, make_plan, travel):
    travel(at(2026, 1, 1))
    plan = make_plan(amount=1000)
    subs = [services.subscription_create(actor=actor, customer_id=CustomerFactory().id, plan_id=plan.id,
                                         payment_method="tok_visa").id for _ in range(3)]
    travel(at(2026, 2, 1))
    # Chunks of two: the renewal and the collection chunk queries take the subscriptions (and their
    # invoices) in id order, so the last one is renewed and collected alone, in a chunk of one.
    run = services.billing_run(actor=actor, chunk_size=2)
    assert (run.renewed, run.payments_attempted, run.payments_succeeded, run.errors) == (3, 3, 3, 0)
    paired, alone = sorted(subs)[0], sorted(subs)[2]
    assert _rows(alone) == _rows(paired)
    numbers = sorted(Invoice.objects.values_list("number", flat=True))
    assert numbers == [f"INV-2026-{n:06d}" for n in range(1, 7)]
    assert ledger_verify().ok


def test_one_invoice_paid_by_hand_writes_the_rows_of_a_billing_run(actor, make_plan, travel):
    travel(at(2026, 1, 1))
    plan = make_plan(amount=1000)
    by_hand, by_run = (services.subscription_create(actor=actor, customer_id=CustomerFactory().id, plan_id=plan.id,
                                                    payment_method="tok_visa").id for _ in range(2))
    Subscription.objects.filter(pk=by_hand).update(payment_method="tok_decline_insufficient_funds")
    travel(at(2026, 2, 1))
    run = services.billing_run(actor=actor)
    assert (run.renewed, run.payments_succeeded, run.payments_failed) == (2, 1, 1)
    # Paid by hand after one decline: the collection of one invoice, with the recovery on top.
    Subscription.objects.filter(pk=by_hand).update(payment_method="tok_visa")
    invoice = Invoice.objects.get(subscription_id=by_hand, billing_reason="subscription_cycle")
    assert services.invoice_pay(actor=actor, invoice_id=invoice.id).status == "paid"
    hand, batch = _rows(by_hand), _rows(by_run)
    assert (hand["invoice"].pop("attempt_count"), batch["invoice"].pop("attempt_count")) == (2, 1)
    for rows in (hand, batch):
        rows["invoice"].pop("first_failed_at"), rows["invoice"].pop("last_failure_code"), rows.pop("attempts")
        rows["sub"].pop("payment_method"), rows["sub"].pop("status"), rows["sub"].pop("updated")
    hand_audit = [a for a in hand.pop("audit") if a[0] != "invoice.payment_failed"]
    hand_audit.remove(("invoice.payment_attempted", [("attempt", 2)]))  # the one more attempt (each is audited)
    assert hand_audit == batch.pop("audit")
    assert hand == batch
    assert Subscription.objects.get(pk=by_hand).status == "active"
    assert list(Notification.objects.filter(subscription_id=by_hand).order_by("id").values_list("kind", flat=True)) == [
        "payment_failed", "payment_recovered"]


def test_mixed_chunk_keeps_numbers_gapless_and_one_invoice_per_period(actor, make_plan, travel):
    travel(at(2026, 1, 1))
    plan, bigger = make_plan(amount=1000), make_plan(amount=2500)
    trial_plan = make_plan(amount=800, trial_days=31)

    def subscribe(p):
        return services.subscription_create(actor=actor, customer_id=CustomerFactory().id, plan_id=p.id,
                                            payment_method="tok_visa").id

    plain = [subscribe(plan) for _ in range(3)]
    ending, changed, trial = subscribe(plan), subscribe(plan), subscribe(trial_plan)
    services.subscription_cancel(actor=actor, subscription_id=ending, at_period_end=True)
    travel(at(2026, 1, 16))
    services.subscription_change(actor=actor, subscription_id=changed, plan_id=bigger.id)
    travel(at(2026, 2, 1))
    before = Invoice.objects.count()
    run = services.billing_run(actor=actor, chunk_size=10)
    assert (run.renewed, run.canceled, run.invoices_created, run.errors) == (5, 1, 5, 0)
    assert Subscription.objects.get(pk=ending).status == "canceled"
    cycle = Invoice.objects.filter(billing_reason="subscription_cycle")
    assert sorted(cycle.values_list("subscription_id", flat=True)) == sorted([*plain, changed, trial])
    assert set(cycle.values_list("status", flat=True)) == {"paid"}
    # The changed subscription's proration lines went onto its cycle invoice (through the single path).
    assert cycle.get(subscription_id=changed).lines.filter(proration=True).count() == 2
    numbers = sorted(Invoice.objects.values_list("number", flat=True))
    assert numbers == [f"INV-2026-{n:06d}" for n in range(1, before + 6)]
    assert InvoiceSequence.objects.get(year=2026).last == before + 5
    finalized = AuditEvent.objects.filter(action="invoice.finalized", object_id__in=cycle.values("id"))
    assert sorted(e.details["number"] for e in finalized) == sorted(cycle.values_list("number", flat=True))


def _collect_four_failing_retries(actor, make_plan, travel):
    """The second collection of four failing invoices in one chunk; returns the SELECTs it ran."""
    travel(at(2026, 1, 1))
    plan = make_plan(amount=1000)
    subs = [services.subscription_create(actor=actor, customer_id=CustomerFactory().id, plan_id=plan.id,
                                         payment_method="tok_visa").id for _ in range(4)]
    Subscription.objects.filter(pk__in=subs).update(payment_method="tok_decline_insufficient_funds")
    travel(at(2026, 2, 1))
    services.billing_run(actor=actor)
    travel(at(2026, 2, 2))
    with CaptureQueriesContext(connection) as queries:
        run = services.billing_run(actor=actor)
    assert (run.payments_attempted, run.payments_failed, run.errors) == (4, 4, 0)
    cycle = Invoice.objects.filter(billing_reason="subscription_cycle")
    assert sorted(cycle.values_list("status", "attempt_count", "next_payment_attempt")) == [
        ("open", 2, at(2026, 2, 4))] * 4
    assert sorted(InvoiceAttempt.objects.filter(invoice__in=cycle).values_list("number", "status")) == sorted(
        [(1, "failed"), (2, "failed")] * 4)
    return [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]


def test_collecting_a_chunk_of_retries_reads_settings_attempts_and_subscriptions_once(actor, make_plan, travel):
    selects = _collect_four_failing_retries(actor, make_plan, travel)
    assert sum('FROM "subscriptions_dunningsettings"' in q for q in selects) == 1
    assert sum('FROM "subscriptions_invoiceattempt"' in q for q in selects) == 1
    # The expire and renew chunk queries, and one read of the collected invoices' subscriptions.
    assert sum('FROM "subscriptions_subscription"' in q for q in selects) == 3


@pytest.mark.postgres  # SQLite has no row locks: select_for_update() emits no FOR UPDATE there.
def test_collecting_a_chunk_of_retries_locks_subscriptions_once(actor, make_plan, travel):
    selects = _collect_four_failing_retries(actor, make_plan, travel)
    subscription_selects = [q for q in selects if 'FROM "subscriptions_subscription"' in q]
    assert ["FOR UPDATE" in q for q in subscription_selects] == [True, True, True]
    # The expire and renew chunk queries skip rows another run holds; the collection lock waits.
    assert ["SKIP LOCKED" in q for q in subscription_selects] == [True, True, False]
