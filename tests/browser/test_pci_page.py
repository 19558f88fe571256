"""The PCI assessment pages in Chromium: no CSP violation or console error, status coloured by class,
and nothing wider than a 390 px phone screen."""

import pytest
from django.urls import reverse

from accounts import services as account_services
from compliance import services as compliance_services
from core.context import Actor
from tests.adminurls import admin_url
from tests.foundation.conftest import PASSWORD, totp_now

from .test_admin_pages import log_in_with_password

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_pci_pages_are_readable_on_a_phone(watched_page, system_actor):
    watched, page = watched_page, watched_page.page
    created = account_services.staff_user_create(actor=system_actor, username="assessor", password=PASSWORD,
                                                 role="finance")
    log_in_with_password(watched, "assessor")
    page.fill("#id_otp_token", totp_now(created.totp_device))
    with page.expect_navigation():
        page.click("input[type=submit]")
    assessment = compliance_services.pci_assessment_run(actor=Actor.for_user(created.user))

    page.set_viewport_size({"width": 390, "height": 844})
    for path in (reverse("admin:compliance_pciassessment_changelist"), admin_url(assessment),
                 reverse("admin:compliance_pciassessment_add")):
        watched.goto(path)
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, (path, overflow)
    watched.goto(reverse("admin:compliance_pciassessment_changelist"))
    failed = page.locator(".bo-pci-latest .bo-pci-status-failed").first
    passed = page.locator(".bo-pci-latest .bo-pci-status-passed").first
    background = "el => getComputedStyle(el).backgroundColor"
    assert failed.evaluate(background) == "rgb(248, 215, 218)"
    assert passed.evaluate(background) == "rgb(223, 240, 216)"
    # Below 600 px each check is a block with its labels, not a table row.
    assert page.locator(".bo-pci-latest tbody tr").first.evaluate("el => getComputedStyle(el).display") == "block"
    assert watched.problems == []
