import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.db import run_in_transaction
from payments.models import Payment, ReconciliationMismatch
from payments.models_sandbox import SandboxCharge
from payments.services import payment_cancel, payment_capture, payment_create, payment_verify, refund_create
from payments.services.postings import clearing_account
from payments.services.reconciliation import _check_ledger, mismatch_resolve, reconciliation_run
from wallets import ledger
from wallets.ledger import AccountType
from wallets.selectors.verify import ledger_verify
from wallets.services import wallet_create

pytestmark = pytest.mark.django_db


def everything(actor, customer, fees):
    """One of each flow through the services."""
    wallet = wallet_create(actor=actor, customer_id=customer.id, currency="USD")

    def make(token="tok_visa", **kw):
        kw.setdefault("amount", 10_000)
        kw.setdefault("currency", "USD")
        return payment_create(actor=actor, customer_id=customer.id, method=kw.pop("method", "card"),
                              payment_method=token, **kw)
    paid = make()
    refund_create(actor=actor, payment_id=paid.id, amount=3_333, reason="other")
    manual = make(capture_method="manual", amount=7_777)
    payment_capture(actor=actor, payment_id=manual.id, amount=5_000)
    refund_create(actor=actor, payment_id=manual.id, amount=None, reason="duplicate")
    payment_cancel(actor=actor, payment_id=make(capture_method="manual").id)
    make(token="tok_decline_generic")
    payment_verify(actor=actor, payment_id=make(token="tok_timeout", amount=1_234).id)
    make(amount=20_000, wallet_id=wallet.id)
    spend = make(token=wallet.id, method="wallet", amount=4_000)
    refund_create(actor=actor, payment_id=spend.id, amount=1_000, reason="requested_by_customer")
    make(amount=1_500, currency="JPY")
    return wallet


def test_reconciliation_is_clean_and_ledger_verifies_after_every_flow(actor, customer, one_sandbox, fees):
    everything(actor, customer, fees)
    assert reconciliation_run(actor=actor) == 0
    assert ReconciliationMismatch.objects.count() == 0
    report = ledger_verify()
    assert report.ok, report.problems
    assert Payment.objects.filter(status="unknown").count() == 0


def test_reconciliation_records_each_mismatch_once(actor, customer, one_sandbox, fees):
    everything(actor, customer, fees)
    refunded = Payment.objects.filter(amount_refunded=3_333).get()
    SandboxCharge.objects.filter(reference=refunded.provider_reference).update(amount_refunded=0)
    authorised = payment_create(actor=actor, customer_id=customer.id, amount=900, currency="USD", method="card",
                                payment_method="tok_visa", capture_method="manual")
    SandboxCharge.objects.filter(reference=authorised.provider_reference).update(status="canceled")
    gone = payment_create(actor=actor, customer_id=customer.id, amount=800, currency="EUR", method="card",
                          payment_method="tok_visa")
    SandboxCharge.objects.filter(reference=gone.provider_reference).delete()

    def stray(meta):
        ledger.post_entry(kind="adjustment", description="stray", actor=actor, metadata=meta, postings=[
            (clearing_account(provider="sandbox", currency="USD"), -5),
            (ledger.system_account(account_type=AccountType.SUSPENSE, currency="USD"), 5)])
    run_in_transaction(lambda: stray({}))  # not a payment's: a payout-like movement, not ours to explain
    wrong = Payment.objects.filter(currency="USD", amount_captured=10_000).first()
    run_in_transaction(lambda: stray({"payment_id": wrong.id}))

    assert reconciliation_run(actor=actor) == 5
    found = {(m.kind, m.payment_id, m.currency) for m in ReconciliationMismatch.objects.all()}
    assert found == {
        ("amount_mismatch", refunded.id, "USD"),
        ("status_mismatch", authorised.id, "USD"),
        ("missing_at_provider", gone.id, "EUR"),
        ("ledger_mismatch", None, "USD"),
        ("ledger_mismatch", wrong.id, "USD"),
    }
    ledger_row = ReconciliationMismatch.objects.get(kind="ledger_mismatch", payment=None)
    assert ledger_row.actual["clearing_paid_out"] - ledger_row.expected["net_captured"] == 5
    assert reconciliation_run(actor=actor) == 0  # the same run day records nothing twice
    resolved = mismatch_resolve(actor=actor, mismatch_id=ledger_row.id, note="stray test entry")
    assert (resolved.status, resolved.resolved_by) == ("resolved", "tests")


def test_ledger_check_per_payment_costs_the_same_queries_for_more_payments(actor, customer, one_sandbox, fees):
    def refunded_payment():
        paid = payment_create(actor=actor, customer_id=customer.id, amount=10_000, currency="USD", method="card",
                              payment_method="tok_visa")
        refund_create(actor=actor, payment_id=paid.id, amount=1_000, reason="other")
        return paid

    wrong = refunded_payment()
    run_in_transaction(lambda: ledger.post_entry(
        kind="adjustment", description="stray", actor=actor, metadata={"payment_id": wrong.id}, postings=[
            (clearing_account(provider="sandbox", currency="USD"), -5),
            (ledger.system_account(account_type=AccountType.SUSPENSE, currency="USD"), 5)]))

    def queries(day):
        with CaptureQueriesContext(connection) as captured:
            assert _check_ledger(day) == 2  # the USD total and the wrong payment; the others agree
        return len(captured)

    few = queries(dt.date(2030, 1, 1))
    for _ in range(4):
        refunded_payment()
    assert queries(dt.date(2030, 1, 2)) == few
    assert {m.payment_id for m in ReconciliationMismatch.objects.filter(run_date=dt.date(2030, 1, 2))} == {
        None, wrong.id}
