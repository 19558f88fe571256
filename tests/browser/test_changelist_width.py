"""The wide changelists in Chromium (found by QA at 1440 px: the navigation sidebar and the filter left the payments
table a 791 px column for its 1422 px): at 1440 px every column of payments, wallets, journal entries and the
request log shows without scrolling; on a 390 px phone the page is no wider than the screen and the table scrolls
in its own box. The navigation sidebar, collapsed on a changelist, opens with its button and stays open on the next
changelist, leaving the other admin pages' state alone."""

import datetime as dt

import pytest
from django.urls import reverse

from accounts import services as account_services
from core import clock
from core.context import Actor
from monitoring import requestlog
from payments import services as payment_services
from subscriptions import services as subscription_services
from tests.adminurls import admin_url
from tests.browser.conftest import ARTIFACTS
from tests.browser.test_admin_pages import log_in_new_staff
from tests.test_admin_smoke import business  # noqa: F401 - the fixture: one object of each kind
from wallets import services as wallet_services
from wallets.models import Wallet

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

CHANGELISTS = ("payments_payment", "wallets_wallet", "wallets_journalentry", "monitoring_requestlog",
               # QA at 1440 px: invoices 152 px, audit events 140 px, billing runs 71 px and events 2 px too wide.
               "subscriptions_invoice", "subscriptions_billingrun", "core_event", "core_auditevent")
# The results table's overflow beyond its box, and the page's beyond the window.
TABLE_OVERFLOW = "() => { const box = document.querySelector('#changelist-form .results');" \
                 " return box.scrollWidth - box.clientWidth; }"
PAGE_OVERFLOW = "() => document.documentElement.scrollWidth - window.innerWidth"


@pytest.fixture
def wide_rows(business):  # noqa: F811
    """Rows as long as the demo data's: a customer's full name, a declined payment (its failure code), request log
    entries with a route, an API key's name and a request id."""
    actor = Actor.system("tests")
    customer = account_services.customer_create(actor=actor, email="mary@example.com", name="Mary Berners-Lee")
    wallet_services.wallet_create(actor=actor, customer_id=customer.pk, currency="USD")
    payment_services.payment_create(actor=actor, customer_id=customer.pk, amount=1_014_303, currency="USD",
                                    method="card", payment_method="tok_visa")
    payment_services.payment_create(actor=actor, customer_id=customer.pk, amount=999, currency="USD",
                                    method="card", payment_method="tok_decline_generic")
    # Three invoices of a customer with a long name, three billing runs, events and audit events with a task's
    # label (the longest actor labels of the demo data).
    plan = subscription_services.plan_create(actor=actor, name="Wide plan", amount=1_000, currency="USD",
                                             interval="month", interval_count=1, trial_days=0)
    for _ in range(3):
        subscription_services.subscription_create(actor=actor, customer_id=customer.pk, plan_id=plan.pk,
                                                  payment_method="tok_visa")
        subscription_services.billing_run(actor=Actor.for_task("subscriptions.run_billing_cycle"))
    requestlog.write([requestlog.Entry(
        created=clock.now() - dt.timedelta(minutes=minutes), kind="rest", method="GET",
        route="GET /api/v1/payments/<str:payment_id>", path="/api/v1/payments/pay_" + "p" * 24, status=200,
        duration_ms=2.4, request_id=f"req_{minutes:032x}", api_key_id="key_" + "b" * 20,
        api_key_name="Checkout backend (production)") for minutes in range(1, 4)])


def log_in(watched, system_actor, username):
    log_in_new_staff(watched, system_actor, username, role="admin")


def test_wide_changelists_fit_a_1440_px_screen_and_a_phone(watched_page, system_actor, wide_rows):
    watched, page = watched_page, watched_page.page
    log_in(watched, system_actor, "wide")
    paths = [reverse(f"admin:{name}_changelist") for name in CHANGELISTS]
    too_wide = []
    for width, height in ((1440, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        for path in paths:
            watched.goto(path)
            assert page.locator("#result_list tbody tr").count() >= 3, path
            table, whole = page.evaluate(TABLE_OVERFLOW), page.evaluate(PAGE_OVERFLOW)
            # At 1440 px nothing scrolls; on a phone the table may, in its own box, never the page.
            if whole > 0 or (width == 1440 and table > 1):
                too_wide.append(f"{width} px, {path}: table {table}px, page {whole}px")
            if width == 390:
                box = page.locator("#changelist-form .results")
                assert box.evaluate("box => getComputedStyle(box).overflowX") == "auto", path
    assert too_wide == [], "changelists wider than their box or the screen:\n" + "\n".join(too_wide)

    # Nothing hidden: each column is there, an amount on one line with its currency.
    page.set_viewport_size({"width": 1440, "height": 900})
    watched.goto(paths[0])
    titles = page.locator("#result_list thead th").all_inner_texts()
    assert [t.strip().upper() for t in titles[1:]] == [
        "ID", "CUSTOMER", "AMOUNT", "STATUS", "METHOD", "PROVIDER", "FAILURE CODE", "RISK DECISION", "CREATED"], titles
    amount = page.locator("#result_list td.field-amount_money", has_text="10143.03 USD")
    lines = ("td => { const text = document.createRange(); text.selectNodeContents(td);"
             " return text.getClientRects().length; }")
    assert amount.evaluate(lines) == 1
    # Screenshots for a person to look at (var/test-artifacts/, git-ignored).
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "payments-changelist-1440x900.png"))
    assert watched.problems == []


def test_the_navigation_sidebar_of_changelists(watched_page, system_actor, business):  # noqa: F811
    watched, page = watched_page, watched_page.page
    log_in(watched, system_actor, "navigator")
    state = ("() => [document.getElementById('main').classList.contains('shifted'),"
             " getComputedStyle(document.getElementById('nav-sidebar')).visibility,"
             " localStorage.getItem('django.admin.navSidebarIsOpen')]")
    payments, wallets = reverse("admin:payments_payment_changelist"), reverse("admin:wallets_wallet_changelist")
    watched.goto(payments)
    assert page.evaluate(state) == [False, "hidden", None]
    page.click("#bo-toggle-nav-sidebar")
    assert page.evaluate(state) == [True, "visible", None]
    watched.goto(wallets)  # remembered on changelists
    assert page.evaluate(state) == [True, "visible", None]
    # Django's own script still filters the list.
    page.fill("#nav-filter", "journal")
    assert page.locator("#nav-sidebar th[scope=row]:visible").all_inner_texts() == ["Journal entries"]
    page.fill("#nav-filter", "")
    page.click("#bo-toggle-nav-sidebar")
    assert page.evaluate(state) == [False, "hidden", None]
    # A change page keeps Django's sidebar and its default, open.
    watched.goto(admin_url(Wallet.objects.first()))
    assert page.evaluate(state) == [True, "visible", None]
    # A phone has no sidebar, as on Django's pages.
    page.set_viewport_size({"width": 390, "height": 844})
    watched.goto(payments)
    assert page.locator("#bo-toggle-nav-sidebar").is_hidden()
    assert page.locator("#nav-sidebar").is_hidden()
    assert watched.problems == []
