"""The dashboards in Chromium: numbers against the database, a payment made over REST arriving live on an
open page (WebSocket), a date range and a chart's CSV, no CSP violation or console error, screenshots.

pytest-django's live_server speaks WSGI only; the live feed needs WebSockets, so this module serves the
test database with Daphne (as `make run` does) from a thread of the test process, on a free port."""

from __future__ import annotations

import csv
import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connections
from django.db.models import Sum

from accounts import services as account_services
from accounts.models import Customer
from monitoring.dashboards.period import last_days
from monitoring.dashboards.registry import NAMES
from payments.models import Payment
from tests.factories import CustomerFactory
from tests.foundation.conftest import PASSWORD, totp_now
from tests.wallets_setup import open_wallet
from wallets.models import Wallet

from .conftest import ARTIFACTS, RECORD_VIOLATIONS, Watched

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


class DaphneThread(threading.Thread):
    """Daphne (Twisted's reactor, once per process) on 127.0.0.1 and a free port, serving config.asgi."""

    def __init__(self):
        super().__init__(daemon=True)
        self.ready = threading.Event()
        self.port: int | None = None
        self.error: BaseException | None = None

    def run(self):
        try:
            from daphne.endpoints import build_endpoint_description_strings
            from daphne.server import Server
            from twisted.internet import reactor

            from config.asgi import application

            self.reactor = reactor
            self.server = Server(
                application=application,
                signal_handlers=False,
                endpoints=build_endpoint_description_strings(host="127.0.0.1", port=0),
                ready_callable=self._resolve_port,
            )
            self.server.run()
        except Exception as exc:  # noqa: BLE001 - handed to the main thread, where the test fails with it
            self.error = exc
            self.ready.set()

    def _resolve_port(self):
        def poll():
            if self.server.listening_addresses:
                self.port = self.server.listening_addresses[0][1]
                self.ready.set()
            else:
                self.reactor.callLater(0.05, poll)

        poll()

    def stop(self):
        self.reactor.callFromThread(self.reactor.stop)
        self.join(timeout=10)


_daphne: DaphneThread | None = None


@pytest.fixture(scope="module")
def daphne_url():
    global _daphne
    # Twisted's reactor cannot be restarted: one server for the process, stopped at the module's end.
    # Daphne's threads close their connections after each request and socket call, as without CONN_MAX_AGE:
    # the test database can only be dropped once no session is left on it.
    db_settings = connections.settings["default"]
    max_age = db_settings.get("CONN_MAX_AGE", 0)
    db_settings["CONN_MAX_AGE"] = 0
    if _daphne is None:
        _daphne = DaphneThread()
        _daphne.start()
        assert _daphne.ready.wait(30), "Daphne did not start"
    if _daphne.error is not None:
        pytest.fail(f"Daphne did not start: {_daphne.error!r}", pytrace=False)
    yield f"http://localhost:{_daphne.port}"  # the browser resolves only localhost
    _daphne.stop()
    db_settings["CONN_MAX_AGE"] = max_age


@pytest.fixture
def watched(chromium, daphne_url, settings):
    settings.DASHBOARD_LIVE_POLL_SECONDS = 0.3
    context = chromium.new_context(viewport={"width": 1440, "height": 900}, bypass_csp=False, accept_downloads=True)
    context.add_init_script(RECORD_VIOLATIONS)
    context.set_default_timeout(30_000)
    page = context.new_page()
    yield Watched(page, daphne_url)
    context.close()


def log_in(watched, username, device):
    page = watched.page
    watched.goto("/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("input[type=submit]")
    assert page.url.endswith("/admin/login/verify/"), page.url
    page.fill("#id_otp_token", totp_now(device))
    with page.expect_navigation():
        page.click("input[type=submit]")
    assert page.url == watched.base_url + "/admin/", page.url
    watched.collect()


def tile_texts(page, prefix):
    return page.evaluate(
        """(prefix) => Object.fromEntries([...document.querySelectorAll('[data-tile]')]
        .filter((t) => t.dataset.tile.startsWith(prefix))
        .map((t) => [t.dataset.tile, t.querySelector('[data-tile-value]').textContent.trim()]))""",
        prefix,
    )


def money(minor, currency):
    # The dashboards' text for minor units (2-decimal currencies in this test).
    return f"{Decimal(minor) / 100:.2f} {currency}"


def expected_gross_30d(currency):
    # The overview's gross: captured money by capture day (docs/dashboards/overview.md).
    period = last_days(30)
    total = Payment.objects.filter(
        currency=currency, captured_at__gte=period.since, captured_at__lt=period.until
    ).aggregate(s=Sum("amount_captured"))["s"]
    return money(total or 0, currency)


def expected_new_customers_30d():
    period = last_days(30)
    return str(Customer.objects.filter(created__gte=period.since, created__lt=period.until).count())


def top_up(chromium, daphne_url, key, wallet, amount):
    """A wallet top-up over REST: a card payment that credits the wallet. Its payment id."""
    rest = chromium.new_context()
    try:
        response = rest.request.post(
            f"{daphne_url}/api/v1/wallets/{wallet.pk}/top-ups",
            headers={"Authorization": f"Bearer {key.raw_key}"},
            data={"amount": amount, "payment_method": "tok_visa"},
        )
        assert response.status == 201, response.text()
        return response.json()["id"]
    finally:
        rest.close()


def expected_balance(currency):
    return money(Wallet.objects.filter(currency=currency).aggregate(s=Sum("account__balance"))["s"] or 0, currency)


def test_dashboards_live_csv_and_screenshots(watched, chromium, daphne_url, system_actor, make_key, settings):
    settings.PAYMENTS_PROVIDERS = {"sandbox": {"type": "sandbox"}}
    page = watched.page
    customer = CustomerFactory()
    wallet = open_wallet(actor=system_actor, customer=customer, currency="USD", balance=5_000)
    open_wallet(actor=system_actor, customer=CustomerFactory(), currency="EUR", balance=1_234)
    key = make_key("payments:write,wallets:write")
    top_up(chromium, daphne_url, key, wallet, "10.00")  # so the overview has a USD volume to check
    created = account_services.staff_user_create(
        actor=system_actor, username="dashboards", password=PASSWORD, role="admin"
    )
    log_in(watched, "dashboards", created.totp_device)

    # The overview's numbers against the database.
    assert tile_texts(page, "gross_30d_") == {"gross_30d_usd": expected_gross_30d("USD")} != {
        "gross_30d_usd": money(0, "USD")}
    assert tile_texts(page, "new_customers_30d") == {"new_customers_30d": expected_new_customers_30d()}
    live_path, live_tile = "/admin/", "gross_30d_usd"
    watched.goto("/admin/dashboards/wallets/")
    balances = tile_texts(page, "balance_")
    assert balances == {"balance_eur": expected_balance("EUR"), "balance_usd": expected_balance("USD")}

    # A payment over REST (a wallet top-up: a card payment that credits the wallet) arrives without a reload.
    watched.goto(live_path)
    page.wait_for_selector('[data-live-state="live"]')
    before = tile_texts(page, live_tile)[live_tile]
    page.evaluate("() => { window.__notReloaded = true; }")
    payment_id = top_up(chromium, daphne_url, key, wallet, "25.00")
    page.wait_for_selector(f"[data-live-list] li:has-text('{payment_id}')")
    assert "payment.created" in page.locator("[data-live-list]").inner_text()
    page.wait_for_function(
        "([key, before]) => document.querySelector(`[data-tile='${key}'] [data-tile-value]`)"
        ".textContent.trim() !== before",
        arg=[live_tile, before],
    )
    after = tile_texts(page, live_tile)[live_tile]
    assert after == expected_gross_30d("USD") == money(3_500, "USD") != before
    assert page.locator(f"[data-tile='{live_tile}']").evaluate("t => t.classList.contains('bo-tile-live')")
    assert page.evaluate("() => window.__notReloaded === true")
    watched.collect()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shots = {1440: ARTIFACTS / "dashboard-1440x900.png"}  # with the payment in the live list
    page.screenshot(path=str(shots[1440]), full_page=True)

    # A date range through the form, then a chart's CSV.
    watched.goto("/admin/dashboards/wallets/")
    start = (dt.date.today() - dt.timedelta(days=6)).isoformat()
    page.fill("input[name=from]", start)
    with page.expect_navigation():
        page.click(".bo-dash-filter button[type=submit]")
    assert f"from={start}" in page.url
    with page.expect_download() as info:
        page.click("figure[data-chart=balances_by_currency] .bo-chart-csv a")
    download = info.value
    assert download.suggested_filename == f"wallets-balances_by_currency-{start}-{dt.date.today().isoformat()}.csv"
    with open(download.path(), encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows == [
        ["currency", "wallets", "frozen", "balance"],
        *[[c, "1", "0", expected_balance(c).split()[0]] for c in ("EUR", "USD")],
    ]
    watched.collect()

    # Every dashboard page: no console error, no CSP violation; screenshots at a desk and on a phone.
    names = page.evaluate("() => [...document.querySelectorAll('.bo-dash-nav a')].map((a) => a.pathname)")
    paths = ["/admin/", *sorted(set(p for p in names if p.startswith("/admin/dashboards/")))]
    assert paths == ["/admin/", *sorted(f"/admin/dashboards/{name}/" for name in NAMES)]
    for width, height in ((1440, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        for path in paths:
            watched.goto(path)
            page.wait_for_selector("[data-live-state='live']")
            watched.collect()
    watched.goto(live_path)
    page.wait_for_selector("[data-live-state='live']")
    shots[390] = ARTIFACTS / "dashboard-390x844.png"
    page.screenshot(path=str(shots[390]), full_page=True)
    assert all(shot.stat().st_size > 10_000 for shot in shots.values())
    problems = list(watched.problems)
    assert problems == [], f"{len(problems)} CSP violations or console errors:\n" + "\n".join(problems)
    # docs/img/dashboard-1440.png and -390.png (the README's) are copies of these two, taken by hand.
