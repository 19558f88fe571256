"""A wallet's history lists entries in posting order, so each row's balance follows from the row
below it even when an entry was dated back (as the demo's wallet payments are)."""

import datetime as dt
import io
import random

import pytest

from accounts import demo as accounts_demo
from core import clock
from payments import demo as payments_demo
from payments.risk import demo as risk_demo
from tests.adminurls import admin_url
from wallets import demo as wallets_demo
from wallets import ledger, selectors, services
from wallets.models import AccountType, JournalEntry, Wallet

pytestmark = pytest.mark.django_db


@pytest.fixture
def back_dated(make_wallet, actor):
    wallet = make_wallet("USD", balance=10_000)
    source = ledger.system_account(account_type=AccountType.PROVIDER_CLEARING, currency="USD",
                                   owner="provider:sandbox")
    with clock.frozen_at(clock.now() - dt.timedelta(days=10)):
        services.wallet_credit_topup(wallet_id=wallet.pk, amount=5_000, source=source, actor=actor,
                                     reference="dated back")
    other = make_wallet("USD")
    services.wallet_transfer(actor=actor, from_wallet_id=wallet.pk, to_wallet_id=other.pk, amount=3_000,
                             currency="USD", description="after")
    return wallet


def consistent(rows) -> list[str]:
    """Rows newest first: each balance is the next (older) row's balance plus this row's amount."""
    problems = [f"{row['id']}: {row['balance_after']} - {row['amount']} != {below['balance_after']}"
                for row, below in zip(rows, rows[1:], strict=False)
                if row["balance_after"] - row["amount"] != below["balance_after"]]
    if rows and rows[-1]["balance_after"] != rows[-1]["amount"]:
        problems.append(f"oldest row {rows[-1]['id']} does not start from zero")
    return problems


def test_history_rows_follow_posting_order(back_dated):
    rows = selectors.wallet_transaction_history(wallet_id=back_dated.pk).items
    assert [(r["amount"], r["balance_after"]) for r in rows] == [(-3_000, 12_000), (5_000, 15_000),
                                                                 (10_000, 10_000)]
    assert consistent(rows) == []


def test_history_pages_resume_in_posting_order(back_dated):
    first = selectors.wallet_transaction_history(wallet_id=back_dated.pk, limit=2)
    rest = selectors.wallet_transaction_history(wallet_id=back_dated.pk, limit=2, cursor=first.next_cursor)
    assert (first.has_more, rest.has_more, rest.next_cursor) == (True, False, None)
    assert [r["balance_after"] for r in first.items + rest.items] == [12_000, 15_000, 10_000]


def test_wallet_page_balances_add_up_row_to_row(staff_client, back_dated):
    page = staff_client("support").get(admin_url(back_dated))
    rows = page.context["wallet_history"]
    assert len(rows) == 3 and consistent(rows) == []
    text = page.content.decode()
    assert text.index("120.00 USD") < text.index("150.00 USD") < text.index("100.00 USD")


def test_the_demo_posts_each_wallets_history_in_date_order(roles, one_sandbox, monkeypatch, staff_client):
    """The demo dates its movements back (wallets first, then the payments demo's wallet top-ups and purchases over
    its 90 days): posted in date order, a wallet's history (posting order) reads newest first by date too."""
    monkeypatch.setattr(payments_demo, "PAYMENT_COUNT", 1)  # the fewest it takes; card payments touch no wallet
    monkeypatch.setattr(payments_demo, "WALLET_PAYMENTS", 60)
    monkeypatch.setattr(risk_demo, "seed_model", lambda **kwargs: None)  # the fraud model: not about wallets
    for app, module in (("accounts", accounts_demo), ("wallets", wallets_demo), ("payments", payments_demo)):
        module.seed(rng=random.Random(f"20261126:{app}"), stdout=io.StringIO())
    assert JournalEntry.objects.filter(description__startswith="demo ").count() == (
        wallets_demo.TRANSFERS + wallets_demo.CONVERSIONS)
    wallets = list(Wallet.objects.order_by("customer__email", "currency"))
    histories = {w.pk: selectors.wallet_transaction_history(wallet_id=w.pk, limit=100).items for w in wallets}
    assert {pk: [r["created"] for r in rows] for pk, rows in histories.items()} == {
        pk: sorted((r["created"] for r in rows), reverse=True) for pk, rows in histories.items()}
    assert all(consistent(rows) == [] for rows in histories.values())
    # The admin's "Recent history" of the wallet with the most entries: its 25 newest, dates falling row to row.
    busiest = max(wallets, key=lambda w: len(histories[w.pk]))
    assert len(histories[busiest.pk]) > 25
    shown = staff_client("support").get(admin_url(busiest)).context["wallet_history"]
    assert [r["id"] for r in shown] == [r["id"] for r in histories[busiest.pk][:25]]
    assert [r["created"] for r in shown] == sorted((r["created"] for r in shown), reverse=True)
