"""Money reads as money on every admin page: each amount a staff member sees is a decimal string
in its currency's digits next to the currency, never the minor-units integer stored inside."""

import re

import pytest
from django.db import transaction

from accounts import services as account_services
from approvals import services as mcp_services
from approvals.models import ApprovalRequest, ApprovalThreshold
from core.context import Actor
from payments import services as payment_services
from payments.models import FeeSchedule, ReconciliationMismatch
from payments.services.settings import fee_schedule_save
from subscriptions import services as subscription_services
from subscriptions.models import Invoice, InvoiceLine
from tests.adminurls import admin_url
from wallets import ledger
from wallets import services as wallet_services
from wallets.models import AccountType, Hold, JournalEntry, LedgerAccount, Posting

pytestmark = pytest.mark.django_db


def bare(minor: int, text: str) -> bool:
    """Whether the integer appears on its own (not inside an id, a token, a longer number, or a row's
    integer key, which a long test run's sequences reach on PostgreSQL: in a link or a title,
    `/admin/.../1234/change/`, `task #1234`, as the text of the link to its own change page, or as the
    value of an inline's hidden id input, which nobody sees)."""
    text = _HIDDEN_INPUT.sub("", text)
    text = _OWN_CHANGE_LINK.sub(r"\1\3", text)
    return re.search(rf"(?<![\w./#]){minor}(?![\w./])", text) is not None


_HIDDEN_INPUT = re.compile(r'<input type="hidden"[^>]*>')
_OWN_CHANGE_LINK = re.compile(r'(<a href="[^"]*/(\d+)/change/[^"]*">)\2(</a>)')


def entered(shown: str, text: str) -> bool:
    """Whether the amount is in an amount input, its currency next to it."""
    decimal, currency = shown.split()
    return re.search(rf'value="{re.escape(decimal)}"[^>]*>\s*<span class="bo-currency">{currency}</span>', text) \
        is not None


@pytest.fixture
def admin_client(staff_client):
    return staff_client("admin")


@pytest.fixture
def money(settings, api):
    """Objects made the way the product makes them, each with amounts whose integer form cannot
    appear on a page by chance."""
    settings.PAYMENTS_PROVIDERS = {"sandbox": {"type": "sandbox"}}
    actor = Actor.system("tests")
    fee = fee_schedule_save(actor=actor, schedule=FeeSchedule(provider="sandbox", currency="USD", percent_bps=0,
                                                              fixed_amount=1357))
    with transaction.atomic():
        customer = account_services.customer_create(actor=actor, email="money@example.com", name="Money")
        other = account_services.customer_create(actor=actor, email="other@example.com", name="Other")
        wallet = wallet_services.wallet_create(actor=actor, customer_id=customer.pk, currency="USD",
                                               daily_limit=123456)
        target = wallet_services.wallet_create(actor=actor, customer_id=other.pk, currency="USD")
        clearing = ledger.system_account(account_type=AccountType.PROVIDER_CLEARING, currency="USD",
                                         owner="provider:sandbox")
        wallet_services.wallet_credit_topup(wallet_id=wallet.pk, amount=54321, source=clearing, actor=actor,
                                            reference="money")
        wallet_services.wallet_transfer(actor=actor, from_wallet_id=wallet.pk, to_wallet_id=target.pk,
                                        amount=2468, currency="USD", description="money")
    payment = payment_services.payment_create(actor=actor, customer_id=customer.pk, amount=8700, currency="USD",
                                              method="card", payment_method="tok_visa")
    payment_services.refund_create(actor=actor, payment_id=payment.pk, amount=1234)
    held = payment_services.payment_create(actor=actor, customer_id=customer.pk, amount=3333, currency="USD",
                                           method="wallet", payment_method=wallet.pk, capture_method="manual")
    plan = subscription_services.plan_create(actor=actor, name="Money plan", amount=2700, currency="USD",
                                             interval="month", interval_count=1, trial_days=0)
    sub = subscription_services.subscription_create(actor=actor, customer_id=customer.pk, plan_id=plan.pk,
                                                    payment_method="tok_visa")
    limit = mcp_services.threshold_save(
        actor=actor, api_key=None, operation="create_payment", currency="USD", amount="100.00")
    response = api.post("/api/v1/payments", {"customer_id": customer.pk, "amount": "450.00", "currency": "USD",
                                             "method": "card", "payment_method": "tok_visa"}, format="json")
    assert response.status_code == 202, response.content
    mismatch = ReconciliationMismatch.objects.create(
        run_date=payment.created.date(), kind="amount_mismatch", payment=payment, provider="sandbox", currency="USD",
        subject=payment.pk, expected={"status": "succeeded", "amount_captured": 8700, "amount_refunded": 1234},
        actual={"status": "captured", "amount_captured": 8765, "amount_refunded": None}, created=payment.created)
    return {"customer": customer, "wallet": wallet, "target": target, "payment": payment, "held": held,
            "plan": plan, "sub": sub, "fee": fee, "limit": limit, "mismatch": mismatch,
            "approval": ApprovalRequest.objects.get(), "invoice": Invoice.objects.get(subscription=sub)}


def test_change_pages_and_lists_show_amounts_as_money(admin_client, money):
    wallet, payment = money["wallet"], money["payment"]
    wallet_account = LedgerAccount.objects.get(pk=wallet.account_id)
    hold = Hold.objects.get()
    transfer = JournalEntry.objects.get(kind="transfer")
    # (page, amounts that must read as money there)
    pages = [
        (admin_url(payment), [8700, 1234, 1357]),
        (admin_url(money["held"]), [3333]),
        (admin_url(payment.refunds.get()), [1234]),
        (admin_url(wallet), [123456, 54321, 2468, wallet_account.balance]),
        (admin_url(wallet_account), [wallet_account.balance, 3333]),
        (admin_url(hold), [3333]),
        (admin_url(transfer), [2468, wallet_account.balance + 3333 - 3333]),
        (admin_url(money["plan"]), [2700]),
        (admin_url(money["invoice"]), [2700]),
        (admin_url(money["sub"]), [2700]),
        (admin_url(money["fee"]), [1357]),
        (admin_url(money["limit"]), [10000]),
        (admin_url(money["approval"]), [45000]),
        (admin_url(money["mismatch"]), [8700, 8765, 1234]),
        ("/admin/payments/payment/", [8700, 3333]),
        ("/admin/payments/refund/", [1234]),
        ("/admin/payments/feeschedule/", [1357]),
        ("/admin/wallets/wallet/", [123456]),
        ("/admin/wallets/ledgeraccount/", [wallet_account.balance]),
        ("/admin/wallets/hold/", [3333]),
        ("/admin/subscriptions/plan/", [2700]),
        ("/admin/subscriptions/invoice/", [2700]),
        ("/admin/approvals/approvalthreshold/", [10000]),
        ("/admin/approvals/approvalrequest/", [45000]),
    ]
    problems = []
    for url, amounts in pages:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        text = response.content.decode()
        for minor in amounts:
            shown = f"{minor // 100}.{minor % 100:02d} USD"
            if shown not in text and not entered(shown, text):
                problems.append(f"{url}: {shown} missing")
            if bare(minor, text):
                problems.append(f"{url}: bare {minor}")
    assert problems == []


def test_invoice_lines_and_postings_inline_read_as_money(admin_client, money):
    invoice = money["invoice"]
    line = InvoiceLine.objects.get(invoice=invoice)
    assert (line.unit_amount, line.amount) == (2700, 2700)
    text = admin_client.get(admin_url(invoice)).content.decode()
    # Unit price, line amount, subtotal and total: four times the same 27.00 USD.
    assert text.count("27.00 USD") >= 4 and not bare(2700, text)
    posting = Posting.objects.filter(entry__kind="transfer", amount=-2468).get()
    page = admin_client.get(admin_url(posting.entry)).content.decode()
    assert "-24.68 USD" in page and "24.68 USD" in page and not bare(2468, page)


def test_printable_invoice_shows_totals_with_their_currency(admin_client, money):
    from django.contrib.admin.utils import quote
    from django.urls import reverse

    page = admin_client.get(reverse("admin:subscriptions_invoice_print", args=[quote(money["invoice"].pk)]))
    text = page.content.decode()
    assert page.status_code == 200 and "27.00 USD" in text and not bare(2700, text)


def test_threshold_reads_as_money_in_its_name_and_the_saved_message(admin_client, money):
    limit = money["limit"]
    assert str(limit) == "create_payment > 100.00 USD"
    response = admin_client.post(admin_url(limit), {"operation": "create_payment", "currency": "USD",
                                                    "amount": "250.00", "api_key": "", "_save": "Save"},
                                 follow=True)
    assert response.status_code == 200
    limit.refresh_from_db()
    assert limit.amount == 25000
    messages = [str(m) for m in response.context["messages"]]
    assert any("create_payment &gt; 250.00 USD" in m for m in messages), messages
    assert all("None" not in m for m in messages), messages


def test_threshold_of_an_empty_amount_reads_as_any_amount():
    assert str(ApprovalThreshold(operation="refund_payment", currency="EUR", amount=None)) == (
        "refund_payment (EUR, any amount)")


def test_view_only_staff_see_money_too(staff_client, money):
    text = staff_client("support").get(admin_url(money["wallet"])).content.decode()
    assert "1234.56 USD" in text and not bare(123456, text)


def test_audit_log_of_a_plan_reads_its_price_as_money(admin_client, money):
    from auditlog.models import LogEntry

    entry = LogEntry.objects.get_for_object(money["plan"]).get()
    assert entry.changes_dict["amount"][1] == "2700"
    text = admin_client.get(admin_url(entry)).content.decode()
    assert "27.00 USD" in text and not bare(2700, text)
    listing = admin_client.get("/admin/auditlog/logentry/").content.decode()
    assert not bare(2700, listing)


def test_wallet_balance_box_names_the_currency_once(admin_client, money):
    text = admin_client.get(admin_url(money["wallet"])).content.decode()
    assert "USD USD" not in text
    assert re.search(r"<th>Balance</th><td>518\.53 USD</td>", text)


KNOWN = (8700, 1234, 1357, 3333, 2700, 54321, 2468, 123456, 10000, 45000, 8765)


def test_no_page_of_the_admin_shows_a_known_amount_in_minor_units(admin_client, money):
    from django.contrib import admin
    from django.test import RequestFactory
    from django.urls import reverse

    request = RequestFactory().get("/admin/")
    request.user = admin_client.user
    problems, opened = [], 0
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        urls = [reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")]
        urls += [admin_url(obj) for obj in model_admin.get_queryset(request)[:5]]
        for url in urls:
            response = admin_client.get(url)
            assert response.status_code == 200, url
            opened += 1
            text = response.content.decode()
            problems += [f"{url}: bare {minor}" for minor in KNOWN if bare(minor, text)]
    assert opened > 60 and problems == []
