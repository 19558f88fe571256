"""Every admin page, the API docs and the login steps load in Chromium without a single
Content-Security-Policy violation or console error, under the same policy production sends."""

import pytest
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.test import RequestFactory
from django.urls import reverse
from django_celery_beat.models import CrontabSchedule

from accounts import services as account_services
from accounts.models import BackupCodeDevice, StaffTOTPDevice
from subscriptions.models import Invoice, Subscription
from tests.adminurls import admin_url
from tests.foundation.conftest import PASSWORD, totp_now
from tests.test_admin_smoke import business  # noqa: F401 - the fixture: one object of each kind
from wallets.models import Wallet

from .conftest import ARTIFACTS

# Data-migration rows (roles, beat schedules) are flushed after a transactional test; put them back.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

def log_in_with_password(watched, username):
    page = watched.page
    watched.goto("/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("input[type=submit]")
    watched.collect()


def log_in_new_staff(watched, system_actor, username, role):
    """A new staff user with `role`, logged in with the password and then the TOTP code."""
    created = account_services.staff_user_create(actor=system_actor, username=username, password=PASSWORD, role=role)
    log_in_with_password(watched, username)
    watched.page.fill("#id_otp_token", totp_now(created.totp_device))
    with watched.page.expect_navigation():
        watched.page.click("input[type=submit]")


def admin_pages(user):
    """Each registered model's list and the change page of its first object, as test_admin_smoke."""
    request = RequestFactory().get("/admin/")
    request.user = user
    pages = []
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        pages.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        obj = model_admin.get_queryset(request).first()
        if obj is not None:
            pages.append(admin_url(obj))
    return pages


def test_admin_pages_and_api_docs_have_no_csp_violation_or_console_error(
        watched_page, business, system_actor):  # noqa: F811
    watched, page = watched_page, watched_page.page
    # A staff member without a second factor yet is shown the enrolment page (a QR code).
    newcomer = account_services.staff_user_create(actor=system_actor, username="newcomer", password=PASSWORD,
                                                  role="support")
    for model in (StaffTOTPDevice, BackupCodeDevice):
        model.objects.filter(user=newcomer.user).delete()
    log_in_with_password(watched, "newcomer")
    assert page.url.endswith("/admin/login/enroll/"), page.url
    assert page.locator(".bo-qr svg").count() == 1
    page.context.clear_cookies()

    created = account_services.staff_user_create(actor=system_actor, username="browser", password=PASSWORD,
                                                 role="admin")
    log_in_with_password(watched, "browser")
    assert page.url.endswith("/admin/login/verify/"), page.url
    page.fill("#id_otp_token", totp_now(created.totp_device))
    with page.expect_navigation():
        page.click("input[type=submit]")
    assert page.url == watched.base_url + "/admin/", page.url
    watched.collect()

    pages = admin_pages(created.user)
    wallet = Wallet.objects.filter(customer__email="smoke@example.com").get()
    invoice = Invoice.objects.order_by("created").first()
    subscription = Subscription.objects.get()
    pages += [
        reverse("admin:subscriptions_invoice_print", args=[quote(invoice.pk)]),
        reverse("admin:subscriptions_subscription_operation", args=[quote(subscription.pk), "change_plan"]),
        reverse("admin:subscriptions_churn_at_risk"),
        reverse("admin:django_celery_beat_periodictask_add"),
        reverse("admin:accounts_apikey_add"),
    ]
    assert len(pages) > 40
    for path in pages:
        watched.goto(path)
    # What the moved styles and script do is still done.
    watched.goto(admin_url(wallet))  # its history: a top-up and a transfer, amounts right-aligned
    amounts = page.locator("fieldset:has(h2:text-is('Recent history')) tbody td.bo-num")
    assert amounts.count() == 4
    assert amounts.first.evaluate("td => getComputedStyle(td).textAlign") == "right"
    watched.goto(reverse("admin:subscriptions_invoice_print", args=[quote(invoice.pk)]))
    assert page.evaluate("() => getComputedStyle(document.querySelector('td.num')).textAlign") == "right"
    # A schedule to pick, whatever an earlier transactional test (a migration test) left of the seeded ones.
    CrontabSchedule.objects.get_or_create(minute="0", hour="4", day_of_week="*", day_of_month="*",
                                          month_of_year="*")
    watched.goto(reverse("admin:django_celery_beat_periodictask_add"))
    assert page.locator(".field-crontab_translation").is_hidden()
    page.select_option("#id_crontab", index=1)
    assert "Translation: " in page.locator(".field-crontab .help").inner_text()
    assert "undefined" not in page.locator(".field-crontab .help").inner_text()

    # Swagger UI and ReDoc build their pages in the browser: wait until they did.
    watched.goto("/api/docs/", wait_for=".swagger-ui .info .title")
    watched.goto("/api/redoc/", wait_for="a[href='https://redocly.com/redoc/'] img")
    logo = page.locator("a[href='https://redocly.com/redoc/'] img").get_attribute("src")
    assert logo.startswith("data:image/svg+xml,"), logo
    page.wait_for_timeout(300)
    watched.collect()

    # On a phone (390 px) and a small laptop (1100 px, the sidebar open) no page is wider than the screen: wide
    # tables, a payment's attempts among them, scroll inside their own box.
    too_wide = []
    for width in (390, 1100):
        page.set_viewport_size({"width": width, "height": 844})
        for path in pages:
            watched.goto(path)
            overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
            if overflow > 0:
                too_wide.append(f"{width} px, {path}: {overflow}px")
    assert too_wide == [], "pages wider than the screen:\n" + "\n".join(too_wide)

    # A wallet's operation buttons (seven, and History) sit under its title, not over it.
    for width in (1440, 1100, 390):
        page.set_viewport_size({"width": width, "height": 900})
        watched.goto(admin_url(wallet))
        title = page.locator("#content > h2").bounding_box()
        tools = page.locator("ul.object-tools").bounding_box()
        assert page.locator("ul.object-tools a.bo-operation-button").count() == 7
        assert tools["y"] >= title["y"] + title["height"], (width, title, tools)
    # On a laptop its history fits its box: long ids and account names break, amounts do not.
    page.set_viewport_size({"width": 1100, "height": 900})
    watched.goto(admin_url(wallet))
    history = page.locator("fieldset:has(h2:text-is('Recent history')) .bo-scroll")
    assert history.evaluate("box => box.scrollWidth - box.clientWidth") == 0
    lines = ("td => { const text = document.createRange(); text.selectNodeContents(td);"
             " return text.getClientRects().length; }")
    assert [amount.evaluate(lines) for amount in amounts.all()] == [1] * 4

    # Screenshots for a person to look at (var/test-artifacts/, git-ignored).
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for width, height in ((1440, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        for name, path in (("admin-home", "/admin/"), ("payments", "/admin/payments/payment/")):
            watched.goto(path)
            target = ARTIFACTS / f"{name}-{width}x{height}.png"
            page.screenshot(path=str(target), full_page=True)
            assert target.stat().st_size > 10_000

    problems = list(watched.problems)
    assert problems == [], f"{len(problems)} CSP violations or console errors:\n" + "\n".join(problems)


def test_the_detector_reports_a_csp_violation_and_a_console_error(watched_page):
    """The check above can fail: an inline style and a console error on one of our pages are reported."""
    watched = watched_page
    watched.goto("/admin/login/")
    watched.page.evaluate("""() => {
        document.body.insertAdjacentHTML("beforeend", '<p style="color: red">inline</p>');
        console.error("boom");
    }""")
    watched.collect()
    problems = [p.split(": ", 1)[1] for p in list(watched.problems)]
    assert len(problems) == 3, problems
    assert any(p.startswith("console error: Applying inline style violates the following Content Security "
                            "Policy directive 'style-src 'self''") for p in problems), problems
    assert "console error: boom ()" in problems
    assert any(p.startswith("CSP: style-src-attr blocked inline at /admin/login/:") for p in problems), problems
