"""Found by QA in Chromium: the "Create API key" form looked unlike every other admin form (Django's forms.css was
not loaded, so labels and fields ran together and the 19 scopes were one long column); and at 390 px a wallet's
"Recent history" and the request log must scroll sideways inside their own box, the page never."""

import pytest
from django.urls import reverse

from tests.adminurls import admin_url
from tests.browser.conftest import ARTIFACTS
from tests.browser.test_admin_pages import log_in_new_staff
from tests.browser.test_changelist_width import wide_rows  # noqa: F401 - the fixture: request log rows
from tests.test_admin_smoke import business  # noqa: F401 - the fixture: a wallet with history
from wallets.models import Wallet

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PAGE_OVERFLOW = "() => document.documentElement.scrollWidth - window.innerWidth"
# How far a box scrolls sideways: its overflow style, how much wider its content is, where a scroll to 200 px lands.
SCROLLS = "box => [getComputedStyle(box).overflowX, box.scrollWidth - box.clientWidth > 100," \
          " (box.scrollLeft = 200, box.scrollLeft)]"


def test_the_create_api_key_form_is_laid_out_as_an_admin_form(watched_page, system_actor):
    watched, page = watched_page, watched_page.page
    log_in_new_staff(watched, system_actor, "keymaker", role="admin")
    watched.goto(reverse("admin:accounts_apikey_add"))
    # Django's change-form layout: every field starts at one left edge beside its label column.
    lefts = [page.locator(f"#id_{name}").bounding_box()["x"] for name in ("owner", "name", "expires_days",
                                                                          "rate_limit")]
    assert len(set(lefts)) == 1, lefts
    label, field = page.locator("label[for=id_name]").bounding_box(), page.locator("#id_name").bounding_box()
    assert label["x"] + label["width"] <= field["x"]
    # An area's read and write scopes side by side.
    read, write = (page.locator(f"#id_scopes input[value='payments:{s}']").bounding_box() for s in ("read", "write"))
    assert read["y"] == write["y"] and write["x"] > read["x"]
    assert page.locator(".submit-row input[type=submit][value='Create key']").count() == 1
    assert page.locator(".breadcrumbs a[href='/admin/accounts/apikey/']").count() == 1
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "apikey-create-1440x900.png"), full_page=True)
    assert watched.problems == []


def test_wide_tables_scroll_in_their_box_on_a_phone(watched_page, system_actor, wide_rows):  # noqa: F811
    watched, page = watched_page, watched_page.page
    log_in_new_staff(watched, system_actor, "phone", role="admin")
    page.set_viewport_size({"width": 390, "height": 844})
    watched.goto(admin_url(Wallet.objects.get(customer__email="smoke@example.com")))
    history = page.locator("fieldset:has(h2:text-is('Recent history')) .bo-scroll")
    assert history.locator("tbody tr").count() >= 2
    assert history.evaluate(SCROLLS) == ["auto", True, 200]
    assert page.evaluate(PAGE_OVERFLOW) == 0
    page.screenshot(path=str(ARTIFACTS / "wallet-390x844.png"), full_page=True)
    watched.goto(reverse("admin:monitoring_requestlog_changelist"))
    assert page.locator("#changelist-form .results").evaluate(SCROLLS) == ["auto", True, 200]
    assert page.evaluate(PAGE_OVERFLOW) == 0
    assert watched.problems == []
