"""The request log's admin pages in Chromium at 390 px: no CSP violation or console error and nothing
wider than the phone's screen, long ids and bodies included."""

import datetime as dt

import pytest
from django.urls import reverse

from accounts import services as account_services
from core import clock
from monitoring import requestlog
from monitoring.models import RequestLog
from tests.adminurls import admin_url
from tests.browser.conftest import chromium, watched_page  # noqa: F401 - the fixtures
from tests.browser.test_admin_pages import log_in_with_password
from tests.foundation.conftest import PASSWORD, totp_now

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_the_request_log_pages_are_readable_on_a_phone(watched_page, system_actor):  # noqa: F811
    watched, page = watched_page, watched_page.page
    created = account_services.staff_user_create(actor=system_actor, username="oncall", password=PASSWORD,
                                                 role="operator")
    log_in_with_password(watched, "oncall")
    page.fill("#id_otp_token", totp_now(created.totp_device))
    with page.expect_navigation():
        page.click("input[type=submit]")
    long_key = "k" * 255
    requestlog.write([requestlog.Entry(
        created=clock.now() - dt.timedelta(minutes=1), kind="rest", method="POST", route="POST /api/v1/transfers",
        path="/api/v1/transfers", status=422, duration_ms=31.4, request_id="req_" + "a" * 32,
        idempotency_key=long_key, error_code="insufficient_funds", api_key_id="key_" + "b" * 20,
        api_key_name="Checkout backend (production)",
        request_value={"from_wallet_id": "wal_" + "c" * 24, "note": "x" * 400, "email": "a@b.co"},
        response_value={"error": {"code": "insufficient_funds", "message": "y " * 200}})])
    row = RequestLog.objects.get()

    page.set_viewport_size({"width": 390, "height": 844})
    for path in (reverse("admin:monitoring_requestlog_changelist"), admin_url(row)):
        watched.goto(path)
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, (path, overflow)
    assert page.locator("pre.bo-json").count() == 2
    assert "[REDACTED]" in page.content()
    assert watched.problems == []
