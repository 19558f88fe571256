"""The dashboard frame: period parsing, the page view, CSV downloads, permissions, the admin home."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re

import pytest
from django.test import Client

from monitoring.dashboards.charts import Band, Chart, Column, Tile
from monitoring.dashboards.period import InvalidPeriod, Period, parse_period

pytestmark = pytest.mark.django_db


def test_period_defaults_to_the_last_30_days_and_parses_bounds():
    period = parse_period({"from": "2026-01-01", "to": "2026-01-31", "currency": "eur"})
    assert (period.start, period.end, period.currency, period.days) == (
        dt.date(2026, 1, 1), dt.date(2026, 1, 31), "EUR", 31)
    assert period.until == dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
    assert period.previous() == Period(dt.date(2025, 12, 1), dt.date(2025, 12, 31), "EUR")
    assert parse_period({}).days == 30


@pytest.mark.parametrize("params, field", [
    ({"from": "2026-13-01"}, "from"), ({"to": "yesterday"}, "to"), ({"from": "2026-02-01", "to": "2026-01-01"}, "from"),
    ({"from": "2020-01-01", "to": "2026-01-01"}, "from"), ({"currency": "XXX"}, "currency"),
    ({"from": "2026-01-01" * 1000}, "from"),
])
def test_bad_periods_are_refused_with_a_stable_code(params, field):
    with pytest.raises(InvalidPeriod) as info:
        parse_period(params)
    assert info.value.code == "invalid_period"
    assert info.value.details == {"field": field}


def test_chart_payload_table_and_csv_format_money_and_guard_formulas():
    chart = Chart("gross", "Gross", "line",
                  [Column("day", "Day", "date"), Column("currency", "Currency"), Column("gross", "Gross", "money"),
                   Column("note", "Note")],
                  [{"day": "2026-01-01", "currency": "EUR", "gross": 123456, "note": "=HYPERLINK()"},
                   {"day": "2026-01-01", "currency": "JPY", "gross": 500, "note": ""},
                   {"day": "2026-01-02", "currency": "EUR", "gross": 5, "note": "-"}],
                  x="day", series=["gross"], group="currency")
    assert chart.payload() == {"name": "gross", "kind": "line", "labels": ["2026-01-01", "2026-01-02"], "datasets": [
        {"label": "Gross (EUR)", "data": [1234.56, 0.05], "unit": "money", "currency": "EUR", "digits": 2},
        {"label": "Gross (JPY)", "data": [500.0, None], "unit": "money", "currency": "JPY", "digits": 0}]}
    assert [cell["text"] for cell in chart.table()["rows"][0]] == ["2026-01-01", "EUR", "1234.56 EUR", "=HYPERLINK()"]
    assert list(csv.reader(io.StringIO(chart.csv()))) == [
        ["day", "currency", "gross", "note"], ["2026-01-01", "EUR", "1234.56", "'=HYPERLINK()"],
        ["2026-01-01", "JPY", "500", ""], ["2026-01-02", "EUR", "0.05", "'-"]]


def test_a_band_marks_its_edges_per_group_for_the_chart_to_fill():
    columns = [Column("day", "Day", "date"), Column("currency", "Currency"), Column("forecast", "Forecast", "money"),
               Column("lower", "Lower (80 %)", "money"), Column("upper", "Upper (80 %)", "money")]
    rows = [{"day": "2026-01-01", "currency": "EUR", "forecast": 1000, "lower": 800, "upper": 1250},
            {"day": "2026-01-01", "currency": "USD", "forecast": 500, "lower": 400, "upper": 600}]
    band = Band("lower", "upper", around="forecast", label="80 % interval")
    chart = Chart("forecast", "Forecast", "line", columns, rows, x="day", series=["forecast", "lower", "upper"],
                  group="currency", band=band)

    def dataset(label, value, currency, edge=None):
        extra = {"band": {"edge": edge, "label": f"80 % interval ({currency})", "around": f"Forecast ({currency})"}}
        return {"label": f"{label} ({currency})", "data": [value], "unit": "money", **(extra if edge else {}),
                "currency": currency, "digits": 2}

    assert chart.payload()["datasets"] == [
        dataset("Forecast", 10.0, "EUR"), dataset("Forecast", 5.0, "USD"),
        dataset("Lower (80 %)", 8.0, "EUR", "lower"), dataset("Lower (80 %)", 4.0, "USD", "lower"),
        dataset("Upper (80 %)", 12.5, "EUR", "upper"), dataset("Upper (80 %)", 6.0, "USD", "upper")]
    ungrouped = Chart("forecast", "Forecast", "line", columns, rows[:1], x="day",
                      series=["forecast", "lower", "upper"], band=band)
    assert [d.get("band") for d in ungrouped.payload()["datasets"]] == [
        None, {"edge": "lower", "label": "80 % interval", "around": "Forecast"},
        {"edge": "upper", "label": "80 % interval", "around": "Forecast"}]
    for kind, series in (("bar", ["forecast", "lower", "upper"]), ("line", ["forecast", "upper"])):
        with pytest.raises(ValueError, match="a band is drawn on a line chart, between and around its series"):
            Chart("forecast", "Forecast", kind, columns, rows, x="day", series=series, band=band)


def test_tile_change_against_the_previous_period():
    assert Tile("g", "Gross", 150, "money", "EUR", previous=100).change == {
        "text": "+50.0 %", "direction": "up", "good": True}
    assert Tile("f", "Failed", 150, previous=100, lower_is_better=True).change["good"] is False
    assert Tile("r", "Rate", "0.9", "rate", previous="0.95").change == {
        "text": "-5.0 pts", "direction": "down", "good": False}
    assert Tile("n", "New", 3, previous=0).change["text"] == "new"
    assert Tile("x", "X", 3).change is None
    assert Tile("g", "Gross", 150, "money", "EUR").text == "1.50 EUR"


def test_wallets_page_renders_with_its_charts_and_downloads_csv(staff_client, make_wallet):
    make_wallet(currency="EUR", balance=1234)
    client = staff_client("admin")
    response = client.get("/admin/dashboards/wallets/?currency=EUR")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="chart-balances_by_currency-data"' in body
    # No inline script: every script is a file or json_script data (the CSP allows scripts from 'self' only).
    scripts = re.findall(r"<script[^>]*>", body)
    assert scripts and all("src=" in tag or 'type="application/json"' in tag for tag in scripts), scripts
    payload = json.loads(body.split('id="chart-balances_by_currency-data" type="application/json">')[1]
                         .split("</script>")[0])
    assert payload["labels"] == ["EUR"]
    csv_response = client.get("/admin/dashboards/wallets/?currency=EUR&format=csv&chart=balances_by_currency")
    assert csv_response.status_code == 200
    assert csv_response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(csv_response.content.decode())))
    assert rows[0] == ["currency", "wallets", "frozen", "balance"]
    assert rows[1] == ["EUR", "1", "0", "12.34"]


def test_bad_requests_answer_4xx(staff_client):
    client = staff_client("admin")
    assert client.get("/admin/dashboards/nope/").status_code == 404
    assert client.get("/admin/dashboards/wallets/?from=garbage").status_code == 400
    assert client.get("/admin/dashboards/wallets/?format=xml").status_code == 400
    assert client.get("/admin/dashboards/wallets/?format=csv&chart=nope").status_code == 404
    assert client.get("/admin/dashboards/wallets/?format=csv&chart=" + "a" * 5000).status_code == 404


def test_pages_need_a_verified_staff_session(client, staff_client, make_staff):
    response = client.get("/admin/dashboards/wallets/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    password_only = Client()
    password_only.force_login(make_staff(role="admin"))  # no second factor in the session
    response = password_only.get("/admin/dashboards/wallets/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert password_only.get("/admin/dashboards/wallets/?format=json").status_code == 302
    verified = staff_client("admin")
    assert verified.get("/admin/").status_code == 200
    assert verified.get("/admin/dashboards/wallets/").status_code == 200


def test_the_dashboard_list_in_docs_is_current():
    from monitoring.management.commands.dashboards_doc import DOC, render

    assert DOC.read_text() == render(), "docs/DASHBOARDS.md is stale: run `make docs`"


def test_moments_read_in_utc_to_the_minute_and_download_as_iso_8601():
    moment = dt.datetime(2026, 1, 1, 11, 5, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    chart = Chart("t", "T", "table", [Column("at", "At", "date"), Column("day", "Day", "date")],
                  [{"at": moment, "day": dt.date(2026, 1, 2)}])
    assert [cell["text"] for cell in chart.table()["rows"][0]] == ["2026-01-01 10:05", "2026-01-02"]
    assert list(csv.reader(io.StringIO(chart.csv()))) == [["at", "day"], ["2026-01-01T10:05:30Z", "2026-01-02"]]


def test_admin_links_of_objects_and_filtered_lists():
    from monitoring.dashboards.charts import admin_url, changelist_url

    assert admin_url("payments.payment", "pay_1") == "/admin/payments/payment/pay_5F1/change/"  # admin quoting
    assert changelist_url("payments.payment", status__exact="failed", **Period(
        dt.date(2026, 1, 1), dt.date(2026, 1, 1), "EUR").admin_filters()) == (
        "/admin/payments/payment/?status__exact=failed&created__gte=2026-01-01T00%3A00%3A00%2B00%3A00"
        "&created__lt=2026-01-02T00%3A00%3A00%2B00%3A00&currency__exact=EUR")
