import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

from core.errors import NotFound, ValidationFailed
from core.money import CurrencyMismatch
from wallets import ledger, services
from wallets.errors import (
    EntryAlreadyReversed,
    HoldAmountExceeded,
    HoldNotPending,
    InsufficientFunds,
    LimitExceeded,
    UnbalancedEntry,
    WalletExists,
    WalletFrozen,
)
from wallets.models import AccountType, Hold, JournalEntry, LedgerAccount, Posting, Wallet

pytestmark = pytest.mark.django_db


def snapshot():
    return (
        JournalEntry.objects.count(),
        Posting.objects.count(),
        sorted(LedgerAccount.objects.values_list("id", "balance", "pending_debits", "version")),
        sorted(Hold.objects.values_list("id", "status", "captured_amount")),
    )


def test_topup_posts_a_balanced_entry_with_balance_after(make_wallet, clearing, actor):
    wallet = make_wallet("USD")
    source = clearing("USD")
    entry = services.wallet_credit_topup(wallet_id=wallet.pk, amount=1050, source=source, actor=actor,
                                         reference="pay_x")
    assert entry.pk.startswith("txn_")
    assert entry.kind == "wallet_topup"
    rows = list(Posting.objects.filter(entry=entry).order_by("id").values_list("account_id", "amount",
                                                                                "balance_after", "currency"))
    assert rows == [(source.pk, -1050, -1050, "USD"), (wallet.account_id, 1050, 1050, "USD")]
    assert ledger.account_balance(wallet.account) == 1050
    assert ledger.account_balance(source) == -1050
    assert LedgerAccount.objects.get(pk=wallet.account_id).version == 1


def test_post_entry_moves_money_and_refuses_overdraft(make_wallet, actor):
    a = make_wallet("USD", balance=1000)
    b = make_wallet("USD")
    with transaction.atomic():
        ledger.post_entry(kind="transfer", description="t", actor=actor, postings=[(a.account, -400),
                                                                                    (b.account, 400)])
    assert (ledger.account_balance(a.account), ledger.account_balance(b.account)) == (600, 400)
    before = snapshot()
    with pytest.raises(InsufficientFunds) as exc, transaction.atomic():
        ledger.post_entry(kind="transfer", description="t", actor=actor, postings=[(a.account, -601),
                                                                                    (b.account, 601)])
    assert exc.value.status == 422
    assert (exc.value.details["available"], exc.value.details["amount"]) == ("6.00", "6.01")
    assert snapshot() == before
    # The exact available balance may be spent, to zero.
    with transaction.atomic():
        ledger.post_entry(kind="transfer", description="t", actor=actor, postings=[(a.account, -600),
                                                                                    (b.account, 600)])
    assert (ledger.account_balance(a.account), ledger.account_balance(b.account)) == (0, 1000)


def test_unbalanced_entries_are_refused(make_wallet, clearing, actor):
    a = make_wallet("USD", balance=1000)
    eur = clearing("EUR")
    before = snapshot()
    for postings in ([(a.account, -5)], [(a.account, -5), (eur, 5)], [], [(a.account, 0)],
                     [(a.account, -1.5), (eur, 1.5)]):
        with pytest.raises(UnbalancedEntry), transaction.atomic():
            ledger.post_entry(kind="x", description="", actor=actor, postings=postings)
    assert snapshot() == before


@pytest.mark.django_db(transaction=True)
def test_post_entry_requires_a_transaction(make_wallet, actor):
    a = make_wallet("USD", balance=10)
    with pytest.raises(RuntimeError):
        ledger.post_entry(kind="x", description="", actor=actor, postings=[(a.account, -1), (a.account, 1)])
    assert JournalEntry.objects.count() == 1


def test_outside_accounts_may_go_negative_customer_accounts_may_not(db):
    with transaction.atomic():
        for account_type in AccountType.values:
            account = ledger.system_account(account_type=account_type, currency="USD")
            expected = account_type not in ("customer_wallet", "merchant_revenue")
            assert account.allow_negative is expected, account_type
        again = ledger.system_account(account_type=AccountType.FEES, currency="USD")
    assert LedgerAccount.objects.filter(account_type="fees").count() == 1
    assert again.pk == LedgerAccount.objects.get(account_type="fees").pk


def test_idempotency_key_returns_the_first_entry(make_wallet, clearing, actor):
    a = make_wallet("USD")
    src = clearing("USD")
    with transaction.atomic():
        first = ledger.post_entry(kind="k", description="", actor=actor, postings=[(src, -7), (a.account, 7)],
                                  idempotency_key="abc")
        second = ledger.post_entry(kind="k", description="", actor=actor, postings=[(src, -7), (a.account, 7)],
                                   idempotency_key="abc")
    assert first.pk == second.pk
    assert ledger.account_balance(a.account) == 7
    assert JournalEntry.objects.count() == 1


def test_holds_reserve_capture_part_and_void(make_wallet, actor):
    wallet = make_wallet("USD", balance=1000)
    with transaction.atomic():
        merchant = ledger.system_account(account_type=AccountType.MERCHANT_REVENUE, currency="USD")
        hold = ledger.hold_reserve(account=wallet.account, amount=700, actor=actor, description="order 1")
    assert hold.pk.startswith("hld_")
    assert ledger.account_balance(wallet.account) == 1000
    assert ledger.account_available(wallet.account) == 300

    # The reserved money cannot be spent twice.
    before = snapshot()
    with pytest.raises(InsufficientFunds), transaction.atomic():
        ledger.hold_reserve(account=wallet.account, amount=301, actor=actor)
    with pytest.raises(InsufficientFunds), transaction.atomic():
        ledger.post_entry(kind="transfer", description="", actor=actor,
                          postings=[(wallet.account, -301), (merchant, 301)])
    assert snapshot() == before

    with pytest.raises(HoldAmountExceeded), transaction.atomic():
        ledger.hold_capture(hold_id=hold.pk, amount=701, destination=merchant, actor=actor, kind="wallet_payment")
    assert snapshot() == before

    with transaction.atomic():
        entry = ledger.hold_capture(hold_id=hold.pk, amount=500, destination=merchant, actor=actor,
                                    kind="wallet_payment")
    hold.refresh_from_db()
    assert (hold.status, hold.captured_amount, hold.capture_entry_id) == ("captured", 500, entry.pk)
    # 500 moved; the other 200 of the hold is released.
    assert ledger.account_balance(wallet.account) == 500
    assert ledger.account_available(wallet.account) == 500
    assert ledger.account_balance(merchant) == 500
    assert sorted(entry.postings.values_list("amount", flat=True)) == [-500, 500]

    with pytest.raises(HoldNotPending), transaction.atomic():
        ledger.hold_capture(hold_id=hold.pk, amount=None, destination=merchant, actor=actor, kind="wallet_payment")
    with pytest.raises(HoldNotPending):
        ledger.hold_void(hold_id=hold.pk, actor=actor)

    with transaction.atomic():
        second = ledger.hold_reserve(account=wallet.account, amount=450, actor=actor)
    assert ledger.account_available(wallet.account) == 50
    voided = ledger.hold_void(hold_id=second.pk, actor=actor)
    assert voided.status == "voided"
    assert ledger.account_available(wallet.account) == 500
    assert ledger.account_balance(wallet.account) == 500


def test_capture_whole_hold_and_currency_mismatch(make_wallet, actor):
    wallet = make_wallet("USD", balance=100)
    with transaction.atomic():
        eur = ledger.system_account(account_type=AccountType.MERCHANT_REVENUE, currency="EUR")
        usd = ledger.system_account(account_type=AccountType.MERCHANT_REVENUE, currency="USD")
        hold = ledger.hold_reserve(account=wallet.account, amount=100, actor=actor)
    before = snapshot()
    with pytest.raises(CurrencyMismatch), transaction.atomic():
        ledger.hold_capture(hold_id=hold.pk, amount=None, destination=eur, actor=actor, kind="wallet_payment")
    assert snapshot() == before
    with transaction.atomic():
        ledger.hold_capture(hold_id=hold.pk, amount=None, destination=usd, actor=actor, kind="wallet_payment")
    assert (ledger.account_balance(wallet.account), ledger.account_available(wallet.account)) == (0, 0)
    assert ledger.account_balance(usd) == 100


def test_unknown_hold_is_not_found(db, actor):
    with pytest.raises(NotFound):
        ledger.hold_void(hold_id="pay_123", actor=actor)
    with pytest.raises(NotFound):
        ledger.hold_void(hold_id="hld_doesnotexist", actor=actor)


def test_entry_reverse_negates_every_posting_once(make_wallet, actor):
    a = make_wallet("USD", balance=1000)
    b = make_wallet("USD")
    with transaction.atomic():
        entry = ledger.post_entry(kind="transfer", description="", actor=actor,
                                  postings=[(a.account, -300), (b.account, 300)])
    with pytest.raises(ValidationFailed):
        ledger.entry_reverse(entry_id=entry.pk, actor=actor, reason="  ")
    reversal = ledger.entry_reverse(entry_id=entry.pk, actor=actor, reason="sent to the wrong wallet")
    assert reversal.reverses_id == entry.pk
    assert reversal.kind == "reversal"
    assert sorted(reversal.postings.values_list("account_id", "amount")) == sorted(
        [(a.account_id, 300), (b.account_id, -300)])
    assert (ledger.account_balance(a.account), ledger.account_balance(b.account)) == (1000, 0)
    before = snapshot()
    with pytest.raises(EntryAlreadyReversed):
        ledger.entry_reverse(entry_id=entry.pk, actor=actor, reason="again")
    assert snapshot() == before


def test_wallet_create_get_and_duplicates(make_wallet, actor):
    wallet = make_wallet("eur")
    assert wallet.pk.startswith("wal_")
    assert (wallet.currency, wallet.status, wallet.account.account_type) == ("EUR", "active", "customer_wallet")
    assert services.wallet_get(wallet_id=wallet.pk).pk == wallet.pk
    assert services.wallet_account(wallet=wallet).pk == wallet.account_id
    for bad in ("cus_x", "wal_missing", ""):
        with pytest.raises(NotFound):
            services.wallet_get(wallet_id=bad)
    with pytest.raises(WalletExists):
        services.wallet_create(actor=actor, customer_id=wallet.customer_id, currency="EUR")
    assert Wallet.objects.count() == 1


def test_topup_refuses_frozen_wallet_and_other_currency(make_wallet, clearing, actor):
    wallet = make_wallet("USD")
    eur, usd = clearing("EUR"), clearing("USD")
    before = snapshot()
    with pytest.raises(CurrencyMismatch) as exc:
        services.wallet_credit_topup(wallet_id=wallet.pk, amount=100, source=eur, actor=actor, reference="r")
    assert exc.value.status == 422
    assert snapshot() == before
    Wallet.objects.filter(pk=wallet.pk).update(status="frozen")
    before = snapshot()
    with pytest.raises(WalletFrozen) as exc:
        services.wallet_credit_topup(wallet_id=wallet.pk, amount=100, source=usd, actor=actor, reference="r")
    assert exc.value.status == 409
    assert snapshot() == before


def test_wallet_ensure_can_pay(make_wallet, actor):
    wallet = make_wallet("USD", balance=1000, daily_limit=800)
    with transaction.atomic():
        services.wallet_ensure_can_pay(wallet=wallet, amount=800)
        with pytest.raises(LimitExceeded):
            services.wallet_ensure_can_pay(wallet=wallet, amount=801)
        ledger.hold_reserve(account=wallet.account, amount=600, actor=actor)
        # The pending hold counts against both the limit and the available balance.
        with pytest.raises(LimitExceeded):
            services.wallet_ensure_can_pay(wallet=wallet, amount=201)
        services.wallet_ensure_can_pay(wallet=wallet, amount=200)
    unlimited = make_wallet("USD", balance=100)
    with pytest.raises(InsufficientFunds), transaction.atomic():
        services.wallet_ensure_can_pay(wallet=unlimited, amount=101)
    Wallet.objects.filter(pk=unlimited.pk).update(status="closed")
    with pytest.raises(WalletFrozen), transaction.atomic():
        services.wallet_ensure_can_pay(wallet=unlimited, amount=1)


@pytest.mark.postgres
@pytest.mark.parametrize("table", ["wallets_journalentry", "wallets_posting"])
def test_postgres_triggers_refuse_update_and_delete(make_wallet, table):
    make_wallet("USD", balance=500)
    count = JournalEntry.objects.count() if table == "wallets_journalentry" else Posting.objects.count()
    for sql in (f"UPDATE {table} SET created = created", f"DELETE FROM {table}"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cur:
            cur.execute(sql)
    assert (JournalEntry.objects.count() if table == "wallets_journalentry" else Posting.objects.count()) == count
    assert Posting.objects.get(amount=500).balance_after == 500


@pytest.mark.postgres
def test_orm_cannot_edit_or_delete_entries(make_wallet):
    make_wallet("USD", balance=500)
    entry = JournalEntry.objects.get()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        JournalEntry.objects.filter(pk=entry.pk).update(description="edited")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        Posting.objects.filter(entry=entry).update(amount=1)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        Posting.objects.filter(entry=entry).delete()
    assert JournalEntry.objects.get().description == entry.description
    assert sorted(Posting.objects.values_list("amount", flat=True)) == [-500, 500]


def test_every_vendor_refuses_updates_of_postings(make_wallet):
    # PostgreSQL's trigger or SQLite's twin: the quick start keeps the rule too.
    make_wallet("USD", balance=500)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        Posting.objects.update(amount=1)
    assert sorted(Posting.objects.values_list("amount", flat=True)) == [-500, 500]


def test_balances_beyond_32_bits_are_exact(make_wallet, actor):
    big = 2**31 * 3 + 7  # 6,442,450,951 minor units
    a = make_wallet("USD", balance=big)
    b = make_wallet("USD")
    with transaction.atomic():
        hold = ledger.hold_reserve(account=a.account, amount=big - 5, actor=actor)
        ledger.hold_capture(hold_id=hold.pk, amount=big - 6, destination=b.account, actor=actor, kind="transfer")
    assert (ledger.account_balance(a.account), ledger.account_balance(b.account)) == (6, big - 6)
    assert ledger.account_available(a.account) == 6
    assert Posting.objects.filter(account_id=b.account_id).get().balance_after == big - 6


def test_expiry_releases_many_holds_on_many_accounts_in_a_fixed_number_of_queries(make_wallet, actor):
    import datetime as dt

    import time_machine
    from django.test.utils import CaptureQueriesContext

    now = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)
    a, b, c = (make_wallet("USD", balance=1000) for _ in range(3))
    with time_machine.travel(now, tick=False), transaction.atomic():
        due = [ledger.hold_reserve(account=w.account, amount=amount, actor=actor, expires_at=now)
               for w, amount in [(b, 30), (a, 100), (b, 20), (a, 5), (c, 7)]]
        later = ledger.hold_reserve(account=a.account, amount=50, actor=actor, expires_at=now + dt.timedelta(days=1))
        voided = ledger.hold_reserve(account=c.account, amount=9, actor=actor,
                                     expires_at=now + dt.timedelta(seconds=1))
        ledger.hold_void(hold_id=voided.pk, actor=actor)
    versions = dict(LedgerAccount.objects.values_list("pk", "version"))
    with time_machine.travel(now + dt.timedelta(seconds=1), tick=False):
        with CaptureQueriesContext(connection) as queries:
            assert ledger.hold_expire_due(actor=actor) == 5
        # Holds locked, accounts locked, accounts updated, holds updated: not one set per hold.
        assert len([q for q in queries if "wallets_" in q["sql"]]) == 4
        assert ledger.hold_expire_due(actor=actor) == 0
    assert sorted(Hold.objects.filter(status="expired").values_list("pk", flat=True)) == sorted(h.pk for h in due)
    assert Hold.objects.get(pk=later.pk).status == "pending"
    assert Hold.objects.get(pk=voided.pk).status == "voided"
    assert [ledger.account_available(w.account) for w in (a, b, c)] == [950, 1000, 1000]
    assert [ledger.account_balance(w.account) for w in (a, b, c)] == [1000, 1000, 1000]
    assert {pk: v - versions[pk] for pk, v in LedgerAccount.objects.values_list("pk", "version")
            if pk in {a.account_id, b.account_id, c.account_id}} == {a.account_id: 1, b.account_id: 1,
                                                                     c.account_id: 1}
