"""The wallets page: balances, flows in and out with their change, largest movements, frozen wallets."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core import clock
from monitoring.analytics import wallets as analytics
from monitoring.dashboards import registry
from monitoring.dashboards.period import Period
from tests.adminurls import admin_url
from wallets import ledger, services
from wallets.models import AccountType

from .helpers import chart_payload, csv_rows

pytestmark = pytest.mark.django_db
PERIOD = Period(dt.date(2026, 3, 1), dt.date(2026, 3, 10))
QUERY = "from=2026-03-01&to=2026-03-10"
CHART_NAMES = ["balances_by_currency", "flows_by_day", "largest_movements", "frozen_wallets"]


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


@pytest.fixture
def history(actor, make_wallet):
    """EUR wallets a (5000 in before the period) and b (10000 in on 2 March), a USD wallet c (700 in on 2 March,
    then frozen); on 5 March a sends 1500 to b and b withdraws 2500; on 11 March (after) 99 more into a."""
    with clock.frozen_at(at(2026, 2, 20, 9)):
        a = make_wallet(currency="EUR", balance=5000)
    with clock.frozen_at(at(2026, 3, 2, 10)):
        b = make_wallet(currency="EUR", balance=10000)
        c = make_wallet(currency="USD", balance=700)
    with clock.frozen_at(at(2026, 3, 5, 14)):
        services.wallet_transfer(actor=actor, from_wallet_id=a.pk, to_wallet_id=b.pk, amount=1500, currency="EUR")
        services.wallet_withdraw(actor=actor, wallet_id=b.pk, amount=2500)
        services.wallet_freeze(actor=actor, wallet_id=c.pk, reason="chargeback")
    with clock.frozen_at(at(2026, 3, 11, 8)):
        source = ledger.system_account(account_type=AccountType.PROVIDER_CLEARING, currency="EUR",
                                       owner="provider:sandbox")
        services.wallet_credit_topup(wallet_id=a.pk, amount=99, source=source, actor=actor, reference="later")
    return {"a": a, "b": b, "c": c}


def test_selectors_give_exact_balances_flows_and_movements(history):
    a, b, c = history["a"], history["b"], history["c"]
    assert analytics.balances(PERIOD) == [
        {"currency": "EUR", "wallets": 2, "frozen": 0, "balance": 5000 - 1500 + 99 + 10000 + 1500 - 2500},
        {"currency": "USD", "wallets": 1, "frozen": 1, "balance": 700}]
    assert analytics.flows_by_day(PERIOD) == [
        {"day": "2026-03-02", "currency": "EUR", "inflow": 10000, "outflow": 0},
        {"day": "2026-03-02", "currency": "USD", "inflow": 700, "outflow": 0},
        {"day": "2026-03-05", "currency": "EUR", "inflow": 1500, "outflow": 4000}]
    assert analytics.flow_totals(PERIOD) == [
        {"currency": "EUR", "inflow": 11500, "outflow": 4000, "previous_inflow": 5000, "previous_outflow": 0},
        {"currency": "USD", "inflow": 700, "outflow": 0, "previous_inflow": 0, "previous_outflow": 0}]
    movements = analytics.largest_movements(PERIOD)
    assert [(m["wallet_id"], m["amount"]) for m in movements[:2]] == [(b.pk, 10000), (b.pk, -2500)]
    assert sorted((m["wallet_id"], m["amount"]) for m in movements[2:4]) == sorted([(a.pk, -1500), (b.pk, 1500)])
    assert [(m["wallet_id"], m["amount"], m["kind"] != "") for m in movements[4:]] == [(c.pk, 700, True)]
    assert analytics.largest_movements(PERIOD, limit=1)[0]["customer_id"] == b.customer_id
    assert [(w["wallet_id"], w["reason"], w["balance"]) for w in analytics.frozen_wallets(PERIOD)] == [
        (c.pk, "chargeback", 700)]
    eur = Period(PERIOD.start, PERIOD.end, "EUR")
    assert analytics.frozen_wallets(eur) == []
    assert [m["currency"] for m in analytics.largest_movements(eur)] == ["EUR"] * 4


def test_largest_movements_rank_across_currencies_by_value_in_eur(actor, make_wallet, staff_client):
    """-22.000 KWD (61.60 EUR) ranks below -78.00 EUR and above 50.00 EUR; 7300 JPY (45.63 EUR) comes after
    them; GBP and USD without a stored rate to EUR come last, by currency, largest first within it."""
    with clock.frozen_at(at(2026, 2, 1, 9)):
        services.exchange_rate_set(actor=actor, base_currency="KWD", quote_currency="EUR", rate="9", source="old")
        services.exchange_rate_set(actor=actor, base_currency="EUR", quote_currency="JPY", rate="160", source="t")
    with clock.frozen_at(at(2026, 2, 2, 9)):
        services.exchange_rate_set(actor=actor, base_currency="KWD", quote_currency="EUR", rate="2.8", source="t")
        services.exchange_rate_set(actor=actor, base_currency="GBP", quote_currency="EUR", rate="1.2", source="t",
                                   valid_from=at(2099, 1, 1))  # not in force yet: GBP has no rate
    with clock.frozen_at(at(2026, 2, 20, 9)):
        eur, kwd = make_wallet(currency="EUR", balance=10000), make_wallet(currency="KWD", balance=30000)
    with clock.frozen_at(at(2026, 3, 3, 10)):
        services.wallet_withdraw(actor=actor, wallet_id=eur.pk, amount=7800)
        services.wallet_withdraw(actor=actor, wallet_id=kwd.pk, amount=22000)
        make_wallet(currency="EUR", balance=5000)
        make_wallet(currency="JPY", balance=7300)
        make_wallet(currency="USD", balance=900000)
        make_wallet(currency="GBP", balance=100)
        make_wallet(currency="GBP", balance=200)
    movements = analytics.largest_movements(PERIOD)
    assert [(m["amount"], m["currency"], m["reference_amount"]) for m in movements] == [
        (-7800, "EUR", -7800), (-22000, "KWD", -6160), (5000, "EUR", 5000), (7300, "JPY", 4563),
        (200, "GBP", None), (100, "GBP", None), (900000, "USD", None)]
    assert [(m["amount"], m["currency"]) for m in analytics.largest_movements(PERIOD, limit=3)] == [
        (-7800, "EUR"), (-22000, "KWD"), (5000, "EUR")]
    body = staff_client("admin").get(f"/admin/dashboards/wallets/?{QUERY}").content.decode()
    assert "Ranked by value in EUR at the exchange rates stored now" in body
    # As people read them: money out of the wallet with "-", money in with "+", the EUR value signed the same way
    # (QA found "78.00 EUR" beside "-78.00 EUR"). Amount and "About, in EUR" are the 6th and 7th cells of a row.
    table = body.split('id="chart-largest_movements"')[1].split("</table>")[0]
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row)[5:7] for row in table.split("<tbody>")[1].split("</tr>")[:-1]]
    assert cells == [
        ["-78.00 EUR", "-78.00 EUR"], ["-22.000 KWD", "-61.60 EUR"], ["+50.00 EUR", "+50.00 EUR"],
        ["+7300 JPY", "+45.63 EUR"], ["+2.00 GBP", "-"], ["+1.00 GBP", "-"], ["+9000.00 USD", "-"]]
    rows = csv_rows(staff_client("admin").get(
        f"/admin/dashboards/wallets/?{QUERY}&format=csv&chart=largest_movements"))
    assert [(r[5], r[4], r[6]) for r in rows[1:]] == [
        ("-78.00", "EUR", "-78.00"), ("-22.000", "KWD", "-61.60"), ("50.00", "EUR", "50.00"),
        ("7300", "JPY", "45.63"), ("2.00", "GBP", ""), ("1.00", "GBP", ""), ("9000.00", "USD", "")]


def test_largest_movements_of_the_same_size_put_the_latest_first(make_wallet):
    with clock.frozen_at(at(2026, 3, 2, 10)):
        first = make_wallet(currency="EUR", balance=4000)
        second = make_wallet(currency="EUR", balance=4000)  # same instant: the later row (higher id) first
    with clock.frozen_at(at(2026, 3, 4, 10)):
        latest = make_wallet(currency="EUR", balance=4000)
    with clock.frozen_at(at(2026, 3, 3, 10)):
        smaller = make_wallet(currency="EUR", balance=3999)
    assert [(m["wallet_id"], m["amount"]) for m in analytics.largest_movements(PERIOD)] == [
        (latest.pk, 4000), (second.pk, 4000), (first.pk, 4000), (smaller.pk, 3999)]


def test_page_tiles_charts_links_and_csv(history, staff_client):
    page = registry.get("wallets").build(PERIOD)
    assert [c.name for c in page.charts] == CHART_NAMES
    tiles = {t.key: t for s in page.sections for t in s.tiles}
    assert (tiles["inflow_eur"].value, tiles["inflow_eur"].previous, tiles["inflow_eur"].change["text"]) == (
        11500, 5000, "+130.0 %")
    assert (tiles["outflow_eur"].text, tiles["outflow_eur"].change["text"]) == ("40.00 EUR", "new")
    assert (tiles["frozen_wallets"].value, tiles["balance_usd"].text) == (1, "7.00 USD")
    client = staff_client("admin")
    body = client.get(f"/admin/dashboards/wallets/?{QUERY}").content.decode()
    assert chart_payload(body, "flows_by_day")["datasets"] == [
        {"label": "In (EUR)", "data": [100.0, 15.0], "unit": "money", "currency": "EUR", "digits": 2},
        {"label": "In (USD)", "data": [7.0, None], "unit": "money", "currency": "USD", "digits": 2},
        {"label": "Out (EUR)", "data": [0.0, 40.0], "unit": "money", "currency": "EUR", "digits": 2},
        {"label": "Out (USD)", "data": [0.0, None], "unit": "money", "currency": "USD", "digits": 2}]
    assert f'href="{admin_url(history["c"])}"' in body
    assert f'href="{admin_url(history["b"])}"' in body
    rows = csv_rows(client.get(f"/admin/dashboards/wallets/?{QUERY}&format=csv&chart=flows_by_day"))
    assert rows == [["day", "currency", "inflow", "outflow"], ["2026-03-02", "EUR", "100.00", "0.00"],
                    ["2026-03-02", "USD", "7.00", "0.00"], ["2026-03-05", "EUR", "15.00", "40.00"]]


def test_the_page_answers_in_a_fixed_number_of_queries(history, make_wallet):
    with CaptureQueriesContext(connection) as few:
        registry.get("wallets").build(PERIOD)
    with clock.frozen_at(at(2026, 3, 3, 10)):
        for _ in range(3):
            make_wallet(currency="EUR", balance=123)
    with CaptureQueriesContext(connection) as more:
        registry.get("wallets").build(PERIOD)
    # movements, the exchange rates they are ranked by, and the 4 other charts' and tiles' reads
    assert len(few) == len(more) == 6


def test_empty_state_without_data(staff_client):
    page = registry.get("wallets").build(PERIOD)
    assert [c.name for c in page.charts] == CHART_NAMES and all(c.empty for c in page.charts)
    body = staff_client("admin").get(f"/admin/dashboards/wallets/?{QUERY}").content.decode()
    assert "No wallets yet." in body and "No wallet movements in this period." in body
