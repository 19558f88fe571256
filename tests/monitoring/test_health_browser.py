"""The system status page in Chromium: no CSP violation or console error, states coloured by class, and
nothing wider than a 390 px phone screen (the formula and the components' details wrap)."""

import pytest
from django.urls import reverse

from monitoring import health
from tests.adminurls import admin_url
from tests.browser.conftest import ARTIFACTS, chromium, watched_page  # noqa: F401  (the browser fixtures)
from tests.browser.test_admin_pages import log_in_new_staff
from tests.foundation.conftest import PASSWORD, totp_now  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def _log_in_as_a_new_operator(watched, system_actor, username):
    log_in_new_staff(watched, system_actor, username, role="operator")


def test_status_page_is_readable_on_a_phone(watched_page, system_actor, settings):  # noqa: F811
    settings.PAYMENTS_RISK_SCORER = ""
    watched, page = watched_page, watched_page.page
    _log_in_as_a_new_operator(watched, system_actor, "watcher")
    recorded = health.health_check_record(actor=system_actor, report=health.run_checks(), source="tests")

    page.set_viewport_size({"width": 390, "height": 844})
    for path in (reverse("admin:monitoring_healthcheck_changelist"), admin_url(recorded)):
        watched.goto(path)
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, (path, overflow)
    watched.goto(reverse("admin:monitoring_healthcheck_changelist"))
    down = page.locator(".bo-health-live .bo-health-state-down").first  # no worker heartbeat
    ok = page.locator(".bo-health-live .bo-health-state-ok").first
    background = "el => getComputedStyle(el).backgroundColor"
    assert down.evaluate(background) == "rgb(248, 215, 218)"
    assert ok.evaluate(background) == "rgb(223, 240, 216)"
    # Below 600 px each component is a block with its labels, not a table row.
    assert page.locator(".bo-health-live tbody tr").first.evaluate("el => getComputedStyle(el).display") == "block"
    assert watched.problems == []
    # Screenshots for a person to look at (var/test-artifacts/, git-ignored).
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for width, height in ((1440, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        watched.goto(reverse("admin:monitoring_healthcheck_changelist"))
        page.screenshot(path=str(ARTIFACTS / f"system-status-{width}x{height}.png"), full_page=True)


def test_status_table_headers_line_up_with_their_cells(watched_page, system_actor, settings):  # noqa: F811
    """On a desktop screen each header of the live table starts where its cells' text starts: the page sits in
    Django's #changelist, whose headers have no padding of their own (they were "WEIGHTMESSAGE")."""
    settings.PAYMENTS_RISK_SCORER = ""
    watched, page = watched_page, watched_page.page
    _log_in_as_a_new_operator(watched, system_actor, "aligner")
    page.set_viewport_size({"width": 1440, "height": 900})
    watched.goto(reverse("admin:monitoring_healthcheck_changelist"))
    edges = page.evaluate("""() => {
        const table = document.querySelector('.bo-health-live table.bo-health');
        const heads = [...table.querySelectorAll('thead th')];
        const cells = [...table.querySelector('tbody tr').children];
        const left = el => el.getBoundingClientRect().left + parseFloat(getComputedStyle(el).paddingLeft);
        return heads.map((th, i) => [th.textContent, left(th), left(cells[i]),
                                     parseFloat(getComputedStyle(th).paddingLeft)]);
    }""")
    assert [name for name, *_ in edges] == ["Component", "State", "Weight", "Message", "Details", "Time"]
    assert all(head == cell and padding >= 5 for _name, head, cell, padding in edges), edges
    assert watched.problems == []

