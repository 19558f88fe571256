import re

import pytest

from core.models import AuditEvent
from tests.adminurls import admin_url, operation_url
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
    # Read-only even for a role that may change wallets: its changes are the operations, so no Save buttons, a
    # way back instead.
    as_admin = staff_client("admin").get(admin_url(a)).content.decode()
    assert "Recent history" in as_admin and operation_url(a, "freeze_wallet") in as_admin
    assert 'name="_save"' not in as_admin and 'name="_continue"' not in as_admin
    assert 'name="_addanother"' not in as_admin and 'class="closelink"' in as_admin
    assert "<h1>View wallet</h1>" in as_admin
    # A posted form is refused and changes nothing.
    stored = Wallet.objects.values().get(pk=a.pk)
    posted = staff_client("admin").post(admin_url(a), {"status": "frozen", "daily_limit": "1", "_save": "Save"})
    assert posted.status_code == 403
    assert Wallet.objects.values().get(pk=a.pk) == stored


def run(client, obj, name, token, **fields):
    """Submits an operation's form from the object's page (confirmed, for a destructive one)."""
    return client.post(operation_url(obj, name), {"_operation": name, "_token": f"tok-{token:0>12}", **fields})


def messages_of(response):
    return [str(m) for m in response.wsgi_request._messages]


def test_wallet_page_offers_the_operations_the_role_may_call_where_they_apply(staff_client, make_wallet, actor):
    wallet, frozen, closed = make_wallet("USD"), make_wallet("USD"), make_wallet("USD")
    services.wallet_freeze(actor=actor, wallet_id=frozen.pk, reason="review")
    services.wallet_close(actor=actor, wallet_id=closed.pk)
    admin = staff_client("admin")
    names = ("freeze_wallet", "unfreeze_wallet", "adjust_wallet", "set_wallet_daily_limit", "close_wallet")
    offered = {}
    for w in (wallet, frozen, closed):
        page = admin.get(admin_url(w)).content.decode()
        offered[w.pk] = [name for name in names if operation_url(w, name) in page]
    assert offered == {
        wallet.pk: ["freeze_wallet", "adjust_wallet", "set_wallet_daily_limit", "close_wallet"],
        frozen.pk: ["unfreeze_wallet", "adjust_wallet", "set_wallet_daily_limit", "close_wallet"],
        closed.pk: [],
    }
    analyst = staff_client("risk_analyst").get(admin_url(wallet)).content.decode()
    assert operation_url(wallet, "freeze_wallet") in analyst
    assert operation_url(wallet, "adjust_wallet") not in analyst
    assert staff_client("risk_analyst").get(operation_url(wallet, "adjust_wallet")).status_code == 403


def test_freeze_list_action_shows_the_form_then_freezes_as_the_staff_member(staff_client, make_wallet):
    wallet = make_wallet("USD")
    client = staff_client("risk_analyst")
    form = action(client, "/admin/wallets/wallet/", "freeze_wallet", [wallet.pk])
    assert form.status_code == 200 and b'name="reason"' in form.content
    assert Wallet.objects.get(pk=wallet.pk).status == "active"
    done = action(client, "/admin/wallets/wallet/", "freeze_wallet", [wallet.pk], _operation="freeze_wallet",
                  _token="tok-" + "f" * 12, reason="chargeback spree")
    assert done.status_code == 302
    assert messages_of(done) == ["Freeze: 1 done."]
    wallet.refresh_from_db()
    assert (wallet.status, wallet.status_reason) == ("frozen", "chargeback spree")
    event = AuditEvent.objects.get(action="wallet.frozen")
    assert (event.actor_type, event.actor_label, event.details["reason"]) == (
        "user", client.user.username, "chargeback spree")
    run(client, wallet, "unfreeze_wallet", "u", reason="cleared")
    assert Wallet.objects.get(pk=wallet.pk).status == "active"


def test_unfreezing_a_closed_wallet_is_refused_with_the_api_code_and_changes_nothing(staff_client, make_wallet,
                                                                                      actor):
    wallet = make_wallet("USD")
    services.wallet_close(actor=actor, wallet_id=wallet.pk, reason="done")
    response = run(staff_client("risk_analyst"), wallet, "unfreeze_wallet", "c", reason="oops")
    assert response.status_code == 302
    assert any("(invalid_state_transition)" in m for m in messages_of(response)), messages_of(response)
    assert Wallet.objects.get(pk=wallet.pk).status == "closed"
    assert not AuditEvent.objects.filter(action="wallet.unfrozen").exists()


def test_adjust_needs_the_permission_and_a_reason_and_posts_once(staff_client, make_wallet):
    wallet = make_wallet("EUR", balance=500)
    operator = staff_client("operator")
    refused = run(operator, wallet, "adjust_wallet", "o", amount="-1.00", reason="x")
    assert refused.status_code == 403
    assert LedgerAccount.objects.get(pk=wallet.account_id).balance == 500
    finance = staff_client("finance")
    again = run(finance, wallet, "adjust_wallet", "e", amount="-1.00", reason="")
    assert again.status_code == 200  # the form again, with its error
    assert again.context["form"].errors["reason"] == ["This field is required."]
    assert ('&rsaquo; <a href="/admin/wallets/wallet/">Wallets</a>\n&rsaquo; Adjust balance (against suspense)\n</div>'
            in again.content.decode())
    assert LedgerAccount.objects.get(pk=wallet.account_id).balance == 500
    done = run(finance, wallet, "adjust_wallet", "d", amount="-1.00", reason="duplicate top-up")
    assert (done.status_code, done["Location"]) == (302, admin_url(wallet))
    assert LedgerAccount.objects.get(pk=wallet.account_id).balance == 400
    entry = JournalEntry.objects.get(kind="adjustment")
    assert (entry.metadata["reason"], entry.actor_type, entry.actor_label) == (
        "duplicate top-up", "user", finance.user.username)
    # The same form submitted twice (a double click, a reload) replays instead of adjusting again.
    run(finance, wallet, "adjust_wallet", "d", amount="-1.00", reason="duplicate top-up")
    assert LedgerAccount.objects.get(pk=wallet.account_id).balance == 400
    assert JournalEntry.objects.filter(kind="adjustment").count() == 1


def test_close_previews_then_closes_and_refuses_a_wallet_with_money(staff_client, make_wallet):
    empty, funded = make_wallet("USD"), make_wallet("USD", balance=100)
    client = staff_client("admin")
    preview = run(client, empty, "close_wallet", "p", reason="customer left")
    body = preview.content.decode()
    assert preview.status_code == 200 and "Confirm: Close" in body and "Would succeed" in body
    assert Wallet.objects.get(pk=empty.pk).status == "active"
    done = run(client, empty, "close_wallet", "p", reason="customer left", _confirm="yes")
    assert done.status_code == 302
    assert Wallet.objects.get(pk=empty.pk).status == "closed"
    preview = run(client, funded, "close_wallet", "q", reason="customer left")
    assert "Would be refused" in preview.content.decode() and "(wallet_not_empty)" in preview.content.decode()
    refused = run(client, funded, "close_wallet", "q", reason="customer left", _confirm="yes")
    assert any("(wallet_not_empty)" in m for m in messages_of(refused)), messages_of(refused)
    assert Wallet.objects.get(pk=funded.pk).status == "active"
    assert LedgerAccount.objects.get(pk=funded.account_id).balance == 100


def test_ledger_is_read_only_and_entries_are_reversed_not_edited(staff_client, make_wallet):
    wallet = make_wallet("USD", balance=700)
    entry = JournalEntry.objects.get()
    client = staff_client("admin")
    assert client.get("/admin/wallets/ledgeraccount/").status_code == 200
    assert client.get("/admin/wallets/ledgeraccount/add/").status_code == 403
    page = client.get(admin_url(entry))
    assert page.status_code == 200 and b"7.00 USD" in page.content
    assert operation_url(entry, "reverse_journal_entry") in page.content.decode()
    assert client.post(admin_url(entry, "delete")).status_code == 403
    form = {"_operation": "reverse_journal_entry", "_token": "tok-" + "r" * 12, "reason": "test top-up"}
    preview = action(client, "/admin/wallets/journalentry/", "reverse_journal_entry", [entry.pk], **form)
    assert preview.status_code == 200 and "Would succeed" in preview.content.decode()
    assert not JournalEntry.objects.filter(reverses=entry).exists()
    action(client, "/admin/wallets/journalentry/", "reverse_journal_entry", [entry.pk], **form, _confirm="yes")
    reversal = JournalEntry.objects.get(reverses=entry)
    assert (reversal.metadata["reason"], reversal.actor_label) == ("test top-up", client.user.username)
    assert LedgerAccount.objects.get(pk=wallet.account_id).balance == 0
    again = action(client, "/admin/wallets/journalentry/", "reverse_journal_entry", [entry.pk],
                   **{**form, "_token": "tok-" + "s" * 12}, _confirm="yes")
    assert any("(entry_already_reversed)" in m for m in messages_of(again)), messages_of(again)
    assert JournalEntry.objects.filter(reverses=entry).count() == 1
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
    r = admin_client.post("/admin/wallets/wallet/add/", {"customer_id": customer.pk, "currency": "GBP",
                                                         "daily_limit": "50.00"})
    assert r.status_code == 302, r.content.decode()[:2000]
    wallet = Wallet.objects.get(customer=customer)
    assert (wallet.currency, wallet.daily_limit, wallet.account.account_type) == ("GBP", 5000, "customer_wallet")
    assert AuditEvent.objects.filter(action="wallet.created", object_id=wallet.pk).count() == 1


def _daily_limit_shown(page: str) -> str:
    """The text of the wallet page's read-only "Daily limit" field."""
    return re.search(r'<label>Daily limit:</label>\s*<div class="readonly">([^<]*)</div>', page).group(1)


def test_no_daily_limit_reads_the_same_on_the_list_and_the_wallet_page(staff_client, make_wallet):
    wallet = make_wallet("USD")
    limited = make_wallet("USD", daily_limit=5000)
    client = staff_client("support")
    assert _daily_limit_shown(client.get(admin_url(wallet)).content.decode()) == "-"
    assert _daily_limit_shown(client.get(admin_url(limited)).content.decode()) == "50.00 USD"
    listed = client.get("/admin/wallets/wallet/", {"q": wallet.customer.email}).content.decode()
    assert '<td class="field-daily_limit_money">-</td>' in listed
