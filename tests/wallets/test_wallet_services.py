import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from core.errors import BusinessRefusal, InvalidStateTransition, NotFound, ValidationFailed
from core.money import AmountNotPositive, CurrencyMismatch
from tests.factories import CustomerFactory
from wallets import ledger, services
from wallets.errors import InsufficientFunds, LimitExceeded, RateNotFound, WalletFrozen
from wallets.fx import convert_minor
from wallets.models import AccountType, JournalEntry, LedgerAccount, Posting, Wallet

from .test_ledger_core import snapshot

pytestmark = pytest.mark.django_db


def balance(wallet):
    return ledger.account_balance(wallet.account)


def test_freeze_unfreeze_and_close_at_zero_only(make_wallet, actor):
    wallet = make_wallet("USD", balance=100)
    frozen = services.wallet_freeze(actor=actor, wallet_id=wallet.pk, reason="suspicious")
    assert (frozen.status, frozen.status_reason) == ("frozen", "suspicious")
    assert services.wallet_freeze(actor=actor, wallet_id=wallet.pk).status == "frozen"
    assert services.wallet_unfreeze(actor=actor, wallet_id=wallet.pk).status == "active"
    with pytest.raises(InvalidStateTransition) as exc:
        services.wallet_close(actor=actor, wallet_id=wallet.pk)
    assert exc.value.code == "wallet_not_empty"
    assert Wallet.objects.get(pk=wallet.pk).status == "active"
    services.wallet_withdraw(actor=actor, wallet_id=wallet.pk, amount=100)
    assert services.wallet_close(actor=actor, wallet_id=wallet.pk).status == "closed"
    with pytest.raises(InvalidStateTransition):
        services.wallet_unfreeze(actor=actor, wallet_id=wallet.pk)
    with pytest.raises(InvalidStateTransition):
        services.wallet_freeze(actor=actor, wallet_id=wallet.pk)
    assert Wallet.objects.get(pk=wallet.pk).status == "closed"


def test_close_refused_while_a_hold_is_pending(make_wallet, actor):
    wallet = make_wallet("USD", balance=100)
    ledger.hold_reserve(account=wallet.account, amount=100, actor=actor)  # inside the test's transaction
    with pytest.raises(InvalidStateTransition) as exc:
        services.wallet_close(actor=actor, wallet_id=wallet.pk)
    assert (exc.value.details["pending"], exc.value.details["currency"]) == ("1.00", "USD")
    assert Wallet.objects.get(pk=wallet.pk).status == "active"


def test_adjustment_against_suspense_needs_a_reason(make_wallet, actor):
    wallet = make_wallet("EUR", balance=500)
    # Opened on first use. Called alone, the use case's transaction would roll back its opening on a
    # refusal; here the use case joins the test's transaction, so it is opened before the snapshot.
    ledger.system_account(account_type=AccountType.SUSPENSE, currency="EUR")
    before = snapshot()
    with pytest.raises(ValidationFailed) as exc:
        services.wallet_adjust(actor=actor, wallet_id=wallet.pk, amount=100, reason=" ")
    assert exc.value.details["fields"] == {"reason": ["A reason is required for a manual adjustment."]}
    with pytest.raises(InsufficientFunds):
        services.wallet_adjust(actor=actor, wallet_id=wallet.pk, amount=-501, reason="fee correction")
    assert snapshot() == before
    entry = services.wallet_adjust(actor=actor, wallet_id=wallet.pk, amount=-200, reason="fee correction")
    assert entry.kind == "adjustment"
    assert entry.metadata["reason"] == "fee correction"
    suspense = LedgerAccount.objects.get(account_type=AccountType.SUSPENSE, currency="EUR")
    assert (balance(wallet), suspense.balance) == (300, 200)
    # Corrections are allowed on a frozen wallet, not on a closed one.
    services.wallet_freeze(actor=actor, wallet_id=wallet.pk)
    services.wallet_adjust(actor=actor, wallet_id=wallet.pk, amount=50, reason="goodwill")
    assert balance(wallet) == 350
    services.wallet_adjust(actor=actor, wallet_id=wallet.pk, amount=-350, reason="emptied for closing")
    services.wallet_close(actor=actor, wallet_id=wallet.pk)
    before = snapshot()
    with pytest.raises(WalletFrozen) as exc:
        services.wallet_adjust(actor=actor, wallet_id=wallet.pk, amount=50, reason="goodwill")
    assert exc.value.details == {"wallet_id": wallet.pk, "status": "closed"}
    assert snapshot() == before


def test_transfer_moves_money_once_and_checks_everything(make_wallet, actor):
    a = make_wallet("USD", balance=1000, daily_limit=700)
    b = make_wallet("USD")
    eur = make_wallet("EUR", balance=1000)
    entry = services.wallet_transfer(actor=actor, from_wallet_id=a.pk, to_wallet_id=b.pk, amount=300,
                   currency="usd", description="rent")
    assert entry.kind == "transfer"
    assert entry.metadata == {"from_wallet_id": a.pk, "to_wallet_id": b.pk, "amount": 300, "currency": "USD"}
    assert (balance(a), balance(b)) == (700, 300)
    before = snapshot()
    cases = [
        (dict(to_wallet_id=b.pk, amount=401, currency="USD"), LimitExceeded),
        (dict(to_wallet_id=eur.pk, amount=1, currency="USD"), CurrencyMismatch),
        (dict(to_wallet_id=b.pk, amount=1, currency="EUR"), CurrencyMismatch),
        (dict(to_wallet_id=a.pk, amount=1, currency="USD"), ValidationFailed),
        (dict(to_wallet_id="wal_nope", amount=1, currency="USD"), NotFound),
        (dict(to_wallet_id=b.pk, amount=0, currency="USD"), AmountNotPositive),
        (dict(to_wallet_id=b.pk, amount=-5, currency="USD"), AmountNotPositive),
    ]
    for kwargs, error in cases:
        with pytest.raises(error):
            services.wallet_transfer(actor=actor, from_wallet_id=a.pk, **kwargs)
    with pytest.raises(InsufficientFunds):
        services.wallet_transfer(actor=actor, from_wallet_id=b.pk, to_wallet_id=a.pk, amount=301,
               currency="USD")
    assert snapshot() == before
    services.wallet_freeze(actor=actor, wallet_id=b.pk)
    before = snapshot()
    for src, dst in ((a, b), (b, a)):
        with pytest.raises(WalletFrozen):
            services.wallet_transfer(actor=actor, from_wallet_id=src.pk, to_wallet_id=dst.pk, amount=1,
                   currency="USD")
    assert snapshot() == before


def test_daily_limit_resets_at_utc_midnight(make_wallet, actor):
    with time_machine.travel(dt.datetime(2026, 11, 26, 23, 0, tzinfo=dt.UTC), tick=False):
        a = make_wallet("USD", balance=1000, daily_limit=500)
        b = make_wallet("USD")
        services.wallet_transfer(actor=actor, from_wallet_id=a.pk, to_wallet_id=b.pk, amount=500,
               currency="USD")
        with pytest.raises(LimitExceeded) as exc:
            services.wallet_transfer(actor=actor, from_wallet_id=a.pk, to_wallet_id=b.pk, amount=1,
                   currency="USD")
        assert (exc.value.details["used_today"], exc.value.details["daily_limit"]) == ("5.00", "5.00")
    with time_machine.travel(dt.datetime(2026, 11, 27, 0, 0, 1, tzinfo=dt.UTC), tick=False):
        services.wallet_transfer(actor=actor, from_wallet_id=a.pk, to_wallet_id=b.pk, amount=500,
               currency="USD")
    assert (balance(a), balance(b)) == (0, 1000)


@pytest.mark.parametrize(("amount", "rate", "source", "target", "expected"), [
    (10000, "0.9234", "USD", "EUR", 9234),      # 100.00 USD -> 92.34 EUR exactly
    (999, "0.9234", "USD", "EUR", 922),         # 9.99 * 0.9234 = 9.224766 -> 9.22 (down)
    (1, "0.9999", "USD", "EUR", 0),             # below one cent: nothing
    (10000, "151.237", "USD", "JPY", 15123),    # 100 USD -> 15123.7 JPY -> 15123 (JPY has no minor unit)
    (15123, "0.0066", "JPY", "USD", 9981),      # 15123 JPY * 0.0066 = 99.8118 USD -> 99.81
    (1000, "3.2567", "KWD", "USD", 325),        # 1.000 KWD -> 3.2567 USD -> 3.25
])
def test_rounding_rule_is_floor_in_the_target_minor_unit(amount, rate, source, target, expected):
    assert convert_minor(amount, rate=Decimal(rate), source=source, target=target) == expected


def test_conversion_through_fx_liquidity(make_wallet, actor):
    customer = CustomerFactory()
    usd = make_wallet("USD", balance=1000, customer=customer)
    eur = make_wallet("EUR", customer=customer)
    stranger = make_wallet("EUR")
    with pytest.raises(RateNotFound):
        services.wallet_convert(actor=actor, from_wallet_id=usd.pk, to_wallet_id=eur.pk, amount=999)
    services.exchange_rate_set(actor=actor, base_currency="usd", quote_currency="eur", rate="0.9234",
           source="ECB reference")
    entry = services.wallet_convert(actor=actor, from_wallet_id=usd.pk, to_wallet_id=eur.pk, amount=999)
    assert (balance(usd), balance(eur)) == (1, 922)
    fx_usd = LedgerAccount.objects.get(account_type="fx_liquidity", currency="USD")
    fx_eur = LedgerAccount.objects.get(account_type="fx_liquidity", currency="EUR")
    assert (fx_usd.balance, fx_eur.balance) == (999, -922)
    assert entry.metadata["rate"] == "0.9234000000"
    assert entry.metadata["rate_source"] == "ECB reference"
    assert (entry.metadata["from_amount"], entry.metadata["to_amount"]) == (999, 922)
    # Back the other way uses 1 / 0.9234 when only USD/EUR is stored: 9.22 EUR -> 9.984838 -> 9.98 USD.
    services.wallet_convert(actor=actor, from_wallet_id=eur.pk, to_wallet_id=usd.pk, amount=922)
    assert (balance(usd), balance(eur)) == (999, 0)
    before = snapshot()
    with pytest.raises(ValidationFailed):
        services.wallet_convert(actor=actor, from_wallet_id=usd.pk, to_wallet_id=stranger.pk, amount=1)
    with pytest.raises(InsufficientFunds):
        services.wallet_convert(actor=actor, from_wallet_id=usd.pk, to_wallet_id=eur.pk, amount=1000)
    with pytest.raises(BusinessRefusal) as exc:
        services.wallet_convert(actor=actor, from_wallet_id=usd.pk, to_wallet_id=eur.pk, amount=1)
    assert exc.value.code == "amount_too_small"
    assert snapshot() == before


def test_newest_rate_wins(make_wallet, actor):
    customer = CustomerFactory()
    usd = make_wallet("USD", balance=10000, customer=customer)
    eur = make_wallet("EUR", customer=customer)
    services.exchange_rate_set(actor=actor, base_currency="USD", quote_currency="EUR", rate="0.5",
           source="old")
    services.exchange_rate_set(actor=actor, base_currency="EUR", quote_currency="USD", rate="1.25",
           source="new")
    services.wallet_convert(actor=actor, from_wallet_id=usd.pk, to_wallet_id=eur.pk, amount=10000)
    assert balance(eur) == 8000  # 100 USD / 1.25


def test_withdrawal_goes_to_provider_clearing(make_wallet, actor):
    wallet = make_wallet("GBP", balance=800)
    entry = services.wallet_withdraw(actor=actor, wallet_id=wallet.pk, amount=300)
    clearing = LedgerAccount.objects.get(account_type="provider_clearing", currency="GBP")
    assert clearing.owner == "provider:sandbox"
    # -800 from the seed top-up, +300 paid out.
    assert (balance(wallet), clearing.balance) == (500, -500)
    assert sorted(Posting.objects.filter(entry=entry).values_list("amount", flat=True)) == [-300, 300]
    before = snapshot()
    with pytest.raises(InsufficientFunds):
        services.wallet_withdraw(actor=actor, wallet_id=wallet.pk, amount=501)
    assert snapshot() == before
    assert JournalEntry.objects.filter(kind="withdrawal").count() == 1


def test_a_wallets_currency_is_read_once_per_process_and_an_unknown_id_is_404_every_time(make_wallet):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from wallets.selectors import wallet_currency

    wallet = make_wallet("JPY")
    missing = "wal_" + "z" * 24
    with CaptureQueriesContext(connection) as queries:
        assert wallet_currency(wallet_id=wallet.pk) == "JPY"
        assert wallet_currency(wallet_id=wallet.pk) == "JPY"
        for _ in range(2):
            with pytest.raises(NotFound) as unknown:
                wallet_currency(wallet_id=missing)
            assert (unknown.value.code, unknown.value.details) == ("not_found", {"wallet_id": missing})
    assert len(queries) == 3  # the wallet's once, the unknown id's each time
