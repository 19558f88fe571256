import pytest

from core.models import AuditEvent
from tests.adminurls import admin_url
from wallets import services
from wallets.models import JournalEntry, LedgerAccount, Wallet

pytestmark = pytest.mark.django_db


def action(client, url, name, ids, **extra):
    return client.post(url, {"action": name, "_selected_action": ids, **extra})


def test_wallet_pages_show_balances_history_and_insights(staff_client, make_wallet, actor):
    a = make_wallet("USD", balance=1234)
    b = make_wallet("USD")
    services.wallet_transfer(actor=actor, from_wallet_id=a.pk, to_wallet_id=b.pk, amount=234, currency="USD",
                             description="dinner split")
    client = staff_client("support")
    page = client.get("/admin/wallets/wallet/", {"q": a.customer.email})
    assert page.status_code == 200
    text = page.content.decode()
    assert a.pk in text and "10.00 USD" in text and b.pk not in text
    detail = client.get(admin_url(a)).content.decode()
    assert "dinner split" in detail and "-2.34" in detail and "Too little history" in detail
    assert "Recent history" in detail


def test_freeze_action_asks_for_a_reason_then_freezes(staff_client, make_wallet):
    wallet = make_wallet("USD")
    client = staff_client("risk_analyst")
    form = action(client, "/admin/wallets/wallet/", "freeze", [wallet.pk])
    assert form.status_code == 200 and b"reason" in form.content
    assert Wallet.objects.get(pk=wallet.pk).status == "active"
    done = action(client, "/admin/wallets/wallet/", "freeze", [wallet.pk], apply="1", reason="chargeback spree")
    assert done.status_code == 302
    wallet.refresh_from_db()
    assert (wallet.status, wallet.status_reason) == ("frozen", "chargeback spree")
    event = AuditEvent.objects.get(action="wallet.frozen")
    assert event.actor_type == "user" and event.details["reason"] == "chargeback spree"
    action(client, "/admin/wallets/wallet/", "unfreeze", [wallet.pk], apply="1", reason="cleared")
    assert Wallet.objects.get(pk=wallet.pk).status == "active"


def test_adjust_action_needs_permission_and_reason(staff_client, make_wallet):
    wallet = make_wallet("EUR", balance=500)
    operator = staff_client("operator")
    action(operator, "/admin/wallets/wallet/", "adjust", [wallet.pk], apply="1", amount="-1.00", reason="x")
    assert LedgerAccount.objects.get(pk=wallet.account_id).balance == 500
    finance = staff_client("finance")
    again = action(finance, "/admin/wallets/wallet/", "adjust", [wallet.pk], apply="1", amount="-1.00", reason="")
    assert again.status_code == 200  # the form again, with its error
    assert LedgerAccount.objects.get(pk=wallet.account_id).balance == 500
    action(finance, "/admin/wallets/wallet/", "adjust", [wallet.pk], apply="1", amount="-1.00",
           reason="duplicate top-up")
    assert LedgerAccount.objects.get(pk=wallet.account_id).balance == 400
    assert JournalEntry.objects.get(kind="adjustment").metadata["reason"] == "duplicate top-up"


def test_ledger_is_read_only_and_entries_are_reversed_not_edited(staff_client, make_wallet):
    wallet = make_wallet("USD", balance=700)
    entry = JournalEntry.objects.get()
    client = staff_client("admin")
    assert client.get("/admin/wallets/ledgeraccount/").status_code == 200
    assert client.get("/admin/wallets/ledgeraccount/add/").status_code == 403
    page = client.get(admin_url(entry))
    assert page.status_code == 200 and b"7.00 USD" in page.content
    assert client.post(admin_url(entry, "delete")).status_code == 403
    action(client, "/admin/wallets/journalentry/", "reverse", [entry.pk], apply="1", reason="test top-up")
    reversal = JournalEntry.objects.get(reverses=entry)
    assert reversal.metadata["reason"] == "test top-up"
    assert LedgerAccount.objects.get(pk=wallet.account_id).balance == 0


def test_staff_add_exchange_rates_and_wallets_through_services(staff_client, make_wallet):
    from tests.factories import CustomerFactory
    from wallets.models import ExchangeRate

    client = staff_client("finance")
    r = client.post("/admin/wallets/exchangerate/add/", {
        "base_currency": "USD", "quote_currency": "EUR", "rate": "0.9234", "source": "ECB reference",
        "valid_from_0": "2026-11-01", "valid_from_1": "00:00:00"})
    assert r.status_code == 302, r.content.decode()[:2000]
    rate = ExchangeRate.objects.get()
    assert (str(rate.rate), rate.source) == ("0.9234000000", "ECB reference")
    assert AuditEvent.objects.filter(action="exchange_rate.set").count() == 1
    assert client.get(admin_url(rate)).status_code == 200
    customer = CustomerFactory()
    admin_client = staff_client("admin")
    r = admin_client.post("/admin/wallets/wallet/add/", {"customer": customer.pk, "currency": "GBP",
                                                         "daily_limit": "50.00"})
    assert r.status_code == 302, r.content.decode()[:2000]
    wallet = Wallet.objects.get(customer=customer)
    assert (wallet.currency, wallet.daily_limit, wallet.account.account_type) == ("GBP", 5000, "customer_wallet")
    assert AuditEvent.objects.filter(action="wallet.created", object_id=wallet.pk).count() == 1
