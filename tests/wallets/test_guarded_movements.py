"""A withdrawal or a conversion in a transaction of its own is built from the wallets read without their locks and
written by one statement that locks the wallets, then every account of the entry in id order (the locked path's
order), and checks what it was built from (ledger.post_entry_guarded). Their platform accounts are the product's
busiest rows after a merchant's wallet: every withdrawal and card capture in a currency writes its provider clearing
account, every conversion the FX liquidity accounts of its currencies. Proven here on PostgreSQL with real
transactions and threads, as tests/wallets/test_guarded_transfer.py proves it for transfers."""

import logging
import threading

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from core.context import Actor
from core.db import transaction_retried
from core.errors import DomainError
from core.models import AuditEvent, Event, IdempotencyRecord
from payments.services import payment_create
from tests.concurrency import failures, run_threads
from tests.factories import CustomerFactory
from tests.wallets.guarding import (
    assert_refused_after_one_retry,
    balance,
    drain,
    interfere_after_the_read,
    retries,
)
from wallets import ledger, services
from wallets.audit import WalletsAction
from wallets.events import WalletsEvent
from wallets.models import AccountType, JournalEntry, LedgerAccount, Posting
from wallets.selectors.verify import ledger_verify

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ACTOR = Actor.system("guarded-withdrawal-test")


def _stored(account_id: int) -> int:
    return LedgerAccount.objects.get(pk=account_id).balance


def test_one_statement_locks_the_wallet_then_both_accounts_and_writes_the_balances_as_locked(make_wallet, clearing,
                                                                                              caplog):
    wallet = make_wallet(balance=10_000)
    provider = clearing()
    before = _stored(provider.pk)
    caplog.set_level(logging.WARNING, logger="core.db")
    with CaptureQueriesContext(connection) as queries:
        entry = services.wallet_withdraw(actor=ACTOR, wallet_id=wallet.pk, amount=2_500)
    locking = [q["sql"] for q in queries.captured_queries if "FOR UPDATE" in q["sql"]]
    # One statement locks, and it is the one that writes: the read before it takes no lock.
    assert len(locking) == 1 and locking[0].startswith("WITH") and "UPDATE" in locking[0].split("FOR UPDATE")[-1]
    assert (balance(wallet), _stored(provider.pk)) == (7_500, before + 2_500)
    rows = list(Posting.objects.filter(entry_id=entry.pk).order_by("id").values_list("account_id", "amount",
                                                                                    "balance_after", "kind"))
    assert rows == [(wallet.account_id, -2_500, 7_500, "withdrawal"),
                    (provider.pk, 2_500, before + 2_500, "withdrawal")]
    assert entry.metadata == {"wallet_id": wallet.pk, "amount": 2_500, "currency": "USD", "provider": "sandbox"}
    audit = AuditEvent.objects.get(action=WalletsAction.WALLET_WITHDRAWN, object_id=wallet.pk)
    assert (audit.object_type, audit.details) == ("wallets.wallet", {"entry_id": entry.pk, "amount": 2_500,
                                                                     "provider": "sandbox"})
    assert Event.objects.get(type=WalletsEvent.WITHDRAWAL_CREATED).object_id == entry.pk
    assert retries(caplog) == []
    assert ledger_verify().problems == []

    [statement] = locking
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (COSTS OFF) " + statement)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    # The wallet is locked first: the accounts' lock runs under a one-time filter on the count of locked wallets,
    # then sorts by account id; the update runs under a one-time filter on the gate.
    wallets_lock, accounts_lock = plan.index("CTE c0"), plan.index("CTE c1")
    accounts_part = plan[accounts_lock:plan.index("CTE c3")]  # the gate (c2) is inlined
    assert wallets_lock < accounts_lock and "LockRows" in plan[wallets_lock:accounts_lock]
    assert accounts_part.index("CTE Scan on c0") < accounts_part.index("Sort Key: a.id")
    assert accounts_part.index("Sort Key: a.id") < accounts_part.index("One-Time Filter")
    assert "One-Time Filter" in plan[plan.index("Update on wallets_ledgeraccount"):]


@pytest.mark.parametrize("kept", ["another_account", "no_account"])
def test_a_platform_account_id_kept_wrongly_by_the_process_refuses_the_guard_and_the_retry_reads_it(
        kept, make_wallet, clearing, caplog):
    """The clearing account's id comes from this process's memory (ledger.system_account_ref); an id naming another
    account, or none, is refused by the statement's check of owner and type, and the locked retry reads the right
    one and keeps it."""
    wallet, bystander = make_wallet(balance=10_000), make_wallet(balance=700)
    provider = clearing()
    before = _stored(provider.pk)
    key = ("provider:sandbox", AccountType.PROVIDER_CLEARING, "USD")
    ledger._account_ids.put(key, bystander.account_id if kept == "another_account" else 10**12)
    caplog.set_level(logging.WARNING, logger="core.db")
    entry = services.wallet_withdraw(actor=ACTOR, wallet_id=wallet.pk, amount=400)
    assert len(retries(caplog)) == 1
    assert sorted(Posting.objects.filter(entry_id=entry.pk).values_list("account_id", "amount")) == sorted(
        [(wallet.account_id, -400), (provider.pk, 400)])
    assert (balance(wallet), balance(bystander), _stored(provider.pk)) == (9_600, 700, before + 400)
    assert ledger._account_ids.peek(key) == (True, provider.pk)
    assert ledger_verify().problems == []


def _fx_pair(make_wallet, balance=10_000):
    customer = CustomerFactory()
    usd, eur = make_wallet("USD", balance=balance, customer=customer), make_wallet("EUR", customer=customer)
    services.exchange_rate_set(actor=ACTOR, base_currency="USD", quote_currency="EUR", rate="0.9234", source="test")
    return usd, eur


def _fx_accounts() -> tuple[LedgerAccount, LedgerAccount]:
    with transaction.atomic():
        return (ledger.system_account(account_type=AccountType.FX_LIQUIDITY, currency="USD"),
                ledger.system_account(account_type=AccountType.FX_LIQUIDITY, currency="EUR"))


def test_a_conversion_locks_both_wallets_then_its_four_accounts_in_the_statement_that_writes(make_wallet, caplog):
    usd, eur = _fx_pair(make_wallet)
    fx_usd, fx_eur = _fx_accounts()
    caplog.set_level(logging.WARNING, logger="core.db")
    with CaptureQueriesContext(connection) as queries:
        entry = services.wallet_convert(actor=ACTOR, from_wallet_id=usd.pk, to_wallet_id=eur.pk, amount=999)
    locking = [q["sql"] for q in queries.captured_queries if "FOR UPDATE" in q["sql"]]
    assert len(locking) == 1 and locking[0].startswith("WITH") and "UPDATE" in locking[0].split("FOR UPDATE")[-1]
    rows = list(Posting.objects.filter(entry_id=entry.pk).order_by("id").values_list("account_id", "amount",
                                                                                    "currency", "balance_after"))
    assert rows == [(usd.account_id, -999, "USD", 9_001), (fx_usd.pk, 999, "USD", 999),
                    (fx_eur.pk, -922, "EUR", -922), (eur.account_id, 922, "EUR", 922)]
    assert [_stored(pk) for pk in (usd.account_id, fx_usd.pk, fx_eur.pk, eur.account_id)] == [9_001, 999, -922, 922]
    assert (entry.metadata["from_amount"], entry.metadata["to_amount"], entry.metadata["rate"]) == (
        999, 922, "0.9234000000")
    audit = AuditEvent.objects.get(action=WalletsAction.WALLET_CONVERTED)
    assert (audit.object_type, audit.object_id, audit.details) == (
        "wallets.wallet", usd.pk, {"entry_id": entry.pk, **entry.metadata})
    assert Event.objects.get(type=WalletsEvent.CONVERSION_CREATED).object_id == entry.pk
    assert retries(caplog) == []
    assert ledger_verify().problems == []


@pytest.mark.parametrize("change, code", [("drain", "insufficient_funds"), ("freeze_target", "wallet_frozen")])
def test_a_change_between_the_read_and_the_write_runs_the_conversion_again_under_the_lock(
        change, code, make_wallet, monkeypatch, caplog):
    usd, eur = _fx_pair(make_wallet)
    sink = make_wallet("USD")
    changes = {"drain": drain(usd, sink, ACTOR),
               "freeze_target": lambda: services.wallet_freeze(actor=ACTOR, wallet_id=eur.pk, reason="test")}
    reads = interfere_after_the_read(monkeypatch, changes[change])
    caplog.set_level(logging.WARNING, logger="core.db")
    with pytest.raises(DomainError) as refused:
        services.wallet_convert(actor=ACTOR, from_wallet_id=usd.pk, to_wallet_id=eur.pk, amount=5_000)
    assert refused.value.code == code
    assert len(reads) == 1 and len(retries(caplog)) == 1
    assert JournalEntry.objects.filter(kind="conversion").count() == 0
    assert (balance(usd), balance(eur)) == (100 if change == "drain" else 10_000, 0)
    assert not LedgerAccount.objects.filter(account_type=AccountType.FX_LIQUIDITY).exclude(balance=0).exists()
    assert AuditEvent.objects.filter(action=WalletsAction.WALLET_CONVERTED).count() == 0
    assert ledger_verify().problems == []


@pytest.mark.parametrize("change, status, code", [
    ("drain", 422, "insufficient_funds"),
    ("freeze", 409, "wallet_frozen"),
    ("limit", 422, "limit_exceeded"),
])
def test_a_change_between_the_read_and_the_write_runs_the_withdrawal_again_under_the_lock(
        change, status, code, api, make_wallet, clearing, monkeypatch, caplog):
    wallet, sink = make_wallet(balance=10_000), make_wallet()
    provider = clearing()
    changes = {
        "drain": drain(wallet, sink, ACTOR),
        "freeze": lambda: services.wallet_freeze(actor=ACTOR, wallet_id=wallet.pk, reason="test"),
        "limit": lambda: services.wallet_set_daily_limit(actor=ACTOR, wallet_id=wallet.pk, daily_limit=1_000),
    }
    reads = interfere_after_the_read(monkeypatch, changes[change])
    provider_before, entries, audits = _stored(provider.pk), JournalEntry.objects.count(), AuditEvent.objects.count()
    events = set(Event.objects.values_list("pk", flat=True))
    caplog.set_level(logging.WARNING, logger="core.db")
    path = f"/api/v1/wallets/{wallet.pk}/withdrawals"
    response = api.post(path, {"amount": "50.00"}, format="json", HTTP_IDEMPOTENCY_KEY=f"guard-{change}")
    drained = 1 if change == "drain" else 0
    assert_refused_after_one_retry(response, status, code, drained=drained, reads=reads, caplog=caplog)
    assert JournalEntry.objects.count() == entries + drained
    assert JournalEntry.objects.filter(kind="withdrawal").count() == 0
    assert (balance(wallet), _stored(provider.pk)) == (100 if drained else 10_000, provider_before)
    assert AuditEvent.objects.filter(action=WalletsAction.WALLET_WITHDRAWN).count() == 0
    assert AuditEvent.objects.count() - audits == 1  # the interfering change's own
    new_events = list(Event.objects.exclude(pk__in=events).values_list("type", flat=True))
    assert WalletsEvent.WITHDRAWAL_CREATED not in new_events and len(new_events) <= 1
    record = IdempotencyRecord.objects.get(key=f"guard-{change}")
    assert (record.response_status, record.response_body["error"]["code"]) == (status, code)
    again = api.post(path, {"amount": "50.00"}, format="json", HTTP_IDEMPOTENCY_KEY=f"guard-{change}")
    assert (again.status_code, again.json(), again["Idempotent-Replayed"]) == (status, response.json(), "true")
    assert ledger_verify().problems == []


def test_a_concurrent_withdrawal_between_the_read_and_the_write_is_counted_in_the_clearing_balance_after(
        make_wallet, clearing, monkeypatch, caplog):
    wallet, other = make_wallet(balance=10_000), make_wallet(balance=10_000)
    provider = clearing()
    before = _stored(provider.pk)
    interfere_after_the_read(monkeypatch, lambda: services.wallet_withdraw(actor=ACTOR, wallet_id=other.pk,
                                                                           amount=300))
    caplog.set_level(logging.WARNING, logger="core.db")
    entry = services.wallet_withdraw(actor=ACTOR, wallet_id=wallet.pk, amount=200)
    # The other withdrawal credited the clearing account after this one read it: no retry, the true balance.
    assert retries(caplog) == []
    assert Posting.objects.get(entry_id=entry.pk, account_id=provider.pk).balance_after == before + 500
    assert (balance(wallet), balance(other), _stored(provider.pk)) == (9_800, 9_700, before + 500)
    assert ledger_verify().problems == []


STEPS = 28  # per thread: 8 x 28 = 32 of each kind
KINDS = ("guarded", "locked", "transfer", "payment", "top_up", "reversed", "convert")


def test_every_movement_takes_the_wallets_then_the_accounts_and_none_deadlocks_or_retries(
        roles, one_sandbox, make_wallet, clearing):
    """Guarded withdrawals and conversions at the same time as the locked path's withdrawals (a transaction its
    owner cannot retry), transfers between the same wallets, card payments and top-ups, whose captures debit the
    same clearing account, and reversals of withdrawals, which lock the two accounts alone, in id order. All of them
    lock wallets before accounts, each kind by id: nothing deadlocks or is retried, and every account's postings
    chain their balances. (A transfer locked each wallet just before its account, in account id order, until this
    test found it waiting in a cycle with a withdrawal, a reversal and another transfer.)"""
    pairs = [_fx_pair(make_wallet, balance=100_000) for _ in range(4)]
    wallets, siblings = [usd for usd, _ in pairs], [eur for _, eur in pairs]
    provider = clearing()
    # Opened before the threads: the first conversions would otherwise race to open them, and a loser's guard may
    # find the id another thread kept before committing (a retry, which this test counts).
    fx_accounts = [account.pk for account in _fx_accounts()]
    customer = CustomerFactory()
    retried = []

    def on_retry(sender, **kwargs):
        retried.append(kwargs["reason"])

    done: dict[str, int] = dict.fromkeys(KINDS, 0)
    lock = threading.Lock()

    def worker(i):
        for n in range(STEPS):
            kind, wallet = KINDS[(i + n) % len(KINDS)], wallets[(i + n) % len(wallets)]
            if kind == "convert":
                services.wallet_convert(actor=ACTOR, from_wallet_id=wallet.pk,
                                        to_wallet_id=siblings[(i + n) % len(wallets)].pk, amount=100 + n)
            elif kind in ("guarded", "reversed"):
                entry = services.wallet_withdraw(actor=ACTOR, wallet_id=wallet.pk, amount=n + 1)
                if kind == "reversed":
                    ledger.entry_reverse(entry_id=entry.pk, actor=ACTOR, reason="test")
            elif kind == "locked":
                with transaction.atomic():  # no owner to retry it: the locked path
                    services.wallet_withdraw(actor=ACTOR, wallet_id=wallet.pk, amount=n + 1)
            elif kind == "transfer":
                services.wallet_transfer(actor=ACTOR, from_wallet_id=wallet.pk,
                                         to_wallet_id=wallets[(i + n + 1) % len(wallets)].pk, amount=n + 1,
                                         currency="USD")
            else:
                top_up = {"customer_id": wallet.customer_id, "wallet_id": wallet.pk} if kind == "top_up" else {}
                payment = payment_create(actor=ACTOR, amount=1_000 + n, currency="USD", method="card",
                                         payment_method="tok_visa", **{"customer_id": customer.id, **top_up})
                assert payment.status == "succeeded", payment.status
            with lock:
                done[kind] += 1

    transaction_retried.connect(on_retry)
    try:
        assert not (errors := failures(run_threads(8, worker))), errors[:3]
    finally:
        transaction_retried.disconnect(on_retry)
    assert done == dict.fromkeys(KINDS, 32)
    assert retried == []
    steps = [(KINDS[(i + n) % len(KINDS)], n) for i in range(8) for n in range(STEPS)]
    sent_out = (sum(n + 1 for kind, n in steps if kind in ("guarded", "locked"))
                + sum(100 + n for kind, n in steps if kind == "convert"))
    topped_up = sum(1_000 + n for kind, n in steps if kind == "top_up")
    assert JournalEntry.objects.filter(kind="withdrawal").count() == 96
    assert sum(balance(w) for w in wallets) == 4 * 100_000 - sent_out + topped_up
    converted = Posting.objects.filter(entry__kind="conversion", currency="EUR", amount__gt=0)
    assert converted.count() == 32
    assert sum(balance(w) for w in siblings) == sum(converted.values_list("amount", flat=True))
    for account_id in [provider.pk, *fx_accounts, *(w.account_id for w in wallets + siblings)]:
        running = None
        for amount, after in Posting.objects.filter(account_id=account_id).order_by("id").values_list(
                "amount", "balance_after"):
            running = after if running is None else running + amount
            assert after == running, account_id
        assert running == _stored(account_id)
    assert sum(LedgerAccount.objects.values_list("balance", flat=True)) == 0
    assert ledger_verify().problems == []
