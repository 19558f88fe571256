"""`seed_demo --scale large` at a small size: the bulk path leaves the ledger, the audit chain and the
event stream as the services would (PostgreSQL only: it writes with COPY)."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.models import Count, Sum

pytestmark = pytest.mark.django_db

PAYMENTS = 2000  # the other counts follow: customers 200, wallets 100, subscriptions 200


def _seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", scale="large", payments=PAYMENTS, stdout=out)
    return out.getvalue()


@pytest.mark.postgres
def test_large_seed_writes_the_counts_asked_with_a_clean_ledger_and_chain():
    from accounts.models import Customer
    from compliance.chain import verify_chain
    from core.events import dispatch_pending
    from core.models import AuditEvent, Event, OutboxMessage
    from payments.models import Payment, Refund
    from subscriptions.models import Subscription, SubscriptionEvent
    from wallets.models import JournalEntry, Posting, Wallet
    from wallets.selectors.verify import ledger_verify

    output = _seed()

    assert Customer.objects.filter(email__endswith="@large.example").count() == 200
    assert Wallet.objects.count() == 100
    assert Payment.objects.count() == PAYMENTS
    assert Subscription.objects.count() == 200
    assert SubscriptionEvent.objects.filter(kind="created").count() == 200

    report = ledger_verify()
    assert report.problems == []
    # One capture entry per succeeded payment, one refund entry per refund, one top-up per wallet.
    succeeded = Payment.objects.filter(status="succeeded")
    assert JournalEntry.objects.filter(kind="payment_capture").count() == succeeded.count() > 0
    assert JournalEntry.objects.filter(kind="payment_refund").count() == Refund.objects.count() > 0
    assert JournalEntry.objects.filter(kind="wallet_topup").count() == 100
    assert set(JournalEntry.objects.filter(kind="payment_capture").values_list("pk", flat=True)) == set(
        succeeded.values_list("capture_entry_id", flat=True)
    )
    # What was captured went through clearing: its postings sum to minus the captures plus the refunds.
    captured = succeeded.aggregate(total=Sum("amount_captured"))["total"]
    clearing = Posting.objects.filter(kind="payment_capture", amount__lt=0).aggregate(total=Sum("amount"))["total"]
    assert clearing == -captured
    # Each wallet's account changed once (its opening top-up) and holds what the top-up brought.
    for wallet in Wallet.objects.select_related("account")[:20]:
        [posting] = Posting.objects.filter(account_id=wallet.account_id)
        assert (wallet.account.version, wallet.account.balance) == (1, posting.amount)

    # Every audit event is sealed into an intact chain; each payment has its `payment.created`.
    chain = verify_chain()
    assert chain.intact, chain
    assert chain.count == AuditEvent.objects.filter(seq__isnull=False).count()
    assert AuditEvent.objects.filter(seq__isnull=True, action__startswith="payment.").count() == 0
    assert AuditEvent.objects.filter(action="payment.created").count() == PAYMENTS
    assert AuditEvent.objects.filter(action="customer.created").count() == 200

    # Events are written, all already dispatched: the relay has nothing to hand to webhooks.
    assert Event.objects.filter(type="payment.created").count() == PAYMENTS
    assert Event.objects.filter(dispatched_at__isnull=True).count() == 0
    assert OutboxMessage.objects.filter(sent_at__isnull=True).count() == 0
    assert dispatch_pending() == 0
    assert OutboxMessage.objects.count() == 0
    assert "no webhook is sent" in output
    # Routing statistics count definite outcomes only, as record_attempt_outcome does (a timeout is not one).
    from payments.models import PaymentAttempt, ProviderStat

    definite = PaymentAttempt.objects.exclude(status="unknown")
    assert PaymentAttempt.objects.filter(status="unknown").exists()
    assert ProviderStat.objects.aggregate(a=Sum("attempts"), s=Sum("successes")) == {
        "a": definite.count(), "s": definite.filter(status__in=["authorised", "captured"]).count()}
    # The customer activity rollups are built over what the seed wrote.
    from monitoring.models import CustomerFirstPayment

    paying = succeeded.order_by().values("customer_id").distinct().count()
    assert CustomerFirstPayment.objects.filter(currency="").count() == paying > 0
    assert "payments: payments, attempts, refunds, ledger:" in output  # timing per phase

    # Risk scores as traffic writes them: every payment scored, the decision matching the score.
    assert Payment.objects.filter(risk_score__isnull=True).count() == 0
    assert Payment.objects.filter(risk_decision="block").exclude(status="failed").count() == 0

    # A second run finds the data and adds nothing.
    counts = (Payment.objects.count(), AuditEvent.objects.count(), Event.objects.count())
    assert "already there" in _seed()
    assert (Payment.objects.count(), AuditEvent.objects.count(), Event.objects.count()) == counts


@pytest.mark.postgres
def test_each_payment_day_follows_the_ledger_order():
    """Postings are written in time order per account: the last posting by id is also the latest."""
    from wallets.models import LedgerAccount, Posting

    _seed()
    busiest = Posting.objects.values("account_id").annotate(n=Count("id")).order_by("-n").first()
    assert busiest is not None and busiest["n"] > 100
    rows = list(
        Posting.objects.filter(account_id=busiest["account_id"])
        .order_by("id")
        .values_list("created", "balance_after", "amount")
    )
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)
    running = 0
    for _, after, amount in rows:
        running += amount
        assert after == running
    assert LedgerAccount.objects.get(pk=busiest["account_id"]).balance == running


def test_large_scale_refuses_sqlite_with_a_clear_message():
    if connection.vendor == "postgresql":
        pytest.skip("the refusal is for databases other than PostgreSQL")
    from payments.models import Payment

    with pytest.raises(CommandError, match="needs PostgreSQL"):
        _seed()
    assert Payment.objects.count() == 0


def test_large_seed_periods_count_from_the_anchor_as_renewal_does():
    from types import SimpleNamespace

    from subscriptions.demo_large import _period

    monthly = SimpleNamespace(interval="month", interval_count=1)
    anchor = dt.datetime(2026, 1, 31, 9, tzinfo=dt.UTC)
    # Jan 31 -> Feb 28 -> Mar 31 (not Mar 28, which stepping from Feb 28 would give)
    assert _period(monthly, anchor, dt.datetime(2026, 3, 30, tzinfo=dt.UTC)) == (
        1, dt.datetime(2026, 2, 28, 9, tzinfo=dt.UTC), dt.datetime(2026, 3, 31, 9, tzinfo=dt.UTC))
    assert _period(monthly, anchor, anchor) == (0, anchor, dt.datetime(2026, 2, 28, 9, tzinfo=dt.UTC))
    yearly = SimpleNamespace(interval="year", interval_count=1)
    assert _period(yearly, anchor, dt.datetime(2027, 2, 1, tzinfo=dt.UTC))[0] == 1
