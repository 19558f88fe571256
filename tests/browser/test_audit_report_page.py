"""The audit report page (compliance admin) in Chromium: no CSP violation or console error, and on a
390 px phone nothing is wider than the screen (tables scroll in their own box)."""

import pytest

from accounts import services as account_services
from tests.compliance.report_data import plant_week
from tests.foundation.conftest import PASSWORD, totp_now

from .test_admin_pages import log_in_with_password

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PAGE = "/admin/core/auditevent/report/?from=2026-03-02&to=2026-03-08"


def test_audit_report_page_in_a_browser(watched_page, make_staff, customer, system_actor):
    plant_week(make_staff, customer)
    created = account_services.staff_user_create(actor=system_actor, username="reader", password=PASSWORD,
                                                 role="auditor")
    watched, page = watched_page, watched_page.page
    log_in_with_password(watched, "reader")
    page.fill("#id_otp_token", totp_now(created.totp_device))
    with page.expect_navigation():
        page.click("input[type=submit]")
    for width, height in ((1440, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        watched.goto(PAGE)
        assert page.locator("#report-total").inner_text() == "12"
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{width}px: {overflow}px too wide"
    watched.goto("/admin/core/auditevent/")
    with page.expect_download() as download:
        page.goto(watched.base_url + PAGE)
        page.click("button[value=csv]")
    assert download.value.suggested_filename == "audit-report-2026-03-02-2026-03-08.csv"
    assert list(watched.problems) == []
