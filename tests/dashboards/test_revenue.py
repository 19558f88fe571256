"""Revenue: the breakdown's exact figures, the backtest, the stored forecast (job, page, REST, MCP), empty states."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core import clock
from monitoring.analytics import revenue
from monitoring.analytics.backtest import backtest, mape, origins, seasonal_naive
from monitoring.dashboards.period import InvalidPeriod, Period
from monitoring.models import RevenueForecast
from monitoring.services_revenue import forecast_compute
from monitoring.tasks_revenue import FORECAST_TASK, compute_revenue_forecasts
from payments.models import Payment, Refund

from ..mcp.conftest import McpClient

pytestmark = pytest.mark.django_db

URL = "/admin/dashboards/revenue/"
API = "/api/v1/analytics/revenue"
PERIOD = Period(dt.date(2026, 3, 2), dt.date(2026, 3, 15))  # Monday 2 March .. Sunday 15 March
QUERY = "from=2026-03-02&to=2026-03-15"


def at(day: str, time: str = "12:00") -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{time}:00+00:00")


def captured(customer, when, amount, fee, currency="USD", method="card", provider="sandbox") -> Payment:
    return Payment.objects.create(customer=customer, amount=amount, currency=currency, method=method,
                                  payment_method="tok_visa", status="succeeded", provider=provider,
                                  amount_captured=amount, fee_amount=fee, captured_at=when, created=when,
                                  updated=when)


def refund(payment, when, amount, fee_returned=0, status="succeeded") -> Refund:
    return Refund.objects.create(payment=payment, amount=amount, currency=payment.currency, reason="other",
                                 status=status, fee_returned=fee_returned, created=when, updated=when)


@pytest.fixture
def book(customer):
    p1 = captured(customer, at("2026-03-02", "10:00"), 10_000, 320)
    captured(customer, at("2026-03-02", "23:59"), 5_000, 175, provider="stripe")
    captured(customer, at("2026-03-09", "00:00"), 2_000, 0, method="bank_transfer")
    p4 = captured(customer, at("2026-03-03"), 7_000, 230, currency="EUR")
    captured(customer, at("2026-03-01", "23:59"), 4_000, 100)  # the previous period
    captured(customer, at("2026-03-16", "00:00"), 9_000, 300)  # after the period
    Payment.objects.create(customer=customer, amount=800, currency="USD", method="card", payment_method="tok_visa",
                           status="failed", provider="sandbox", created=at("2026-03-05"), updated=at("2026-03-05"))
    refund(p1, at("2026-03-04"), 3_000, 96)
    refund(p1, at("2026-03-04"), 1_000, status="pending")
    refund(p1, at("2026-03-05"), 500, status="failed")
    refund(p4, at("2026-03-10"), 7_000, 230)


def money(gross=0, fees=0, refunds=0, fees_returned=0, payments=0, refund_count=0):
    return {"gross": gross, "fees": fees, "refunds": refunds, "fees_returned": fees_returned,
            "net": gross - fees - refunds + fees_returned, "payments": payments, "refund_count": refund_count}


def test_breakdown_by_day_week_month_method_and_provider(book):
    assert revenue.revenue_totals(PERIOD) == {
        "EUR": money(7_000, 230, 7_000, 230, 1, 1), "USD": money(17_000, 495, 3_000, 96, 3, 1)}
    assert money(17_000, 495, 3_000, 96)["net"] == 13_601
    assert revenue.revenue_by_interval(PERIOD, "day") == [
        {"bucket": "2026-03-02", "currency": "USD", **money(15_000, 495, payments=2)},
        {"bucket": "2026-03-03", "currency": "EUR", **money(7_000, 230, payments=1)},
        {"bucket": "2026-03-04", "currency": "USD", **money(refunds=3_000, fees_returned=96, refund_count=1)},
        {"bucket": "2026-03-09", "currency": "USD", **money(2_000, payments=1)},
        {"bucket": "2026-03-10", "currency": "EUR", **money(refunds=7_000, fees_returned=230, refund_count=1)},
    ]
    assert revenue.revenue_by_interval(PERIOD, "week") == [
        {"bucket": "2026-03-02", "currency": "EUR", **money(7_000, 230, payments=1)},
        {"bucket": "2026-03-02", "currency": "USD", **money(15_000, 495, 3_000, 96, 2, 1)},
        {"bucket": "2026-03-09", "currency": "EUR", **money(refunds=7_000, fees_returned=230, refund_count=1)},
        {"bucket": "2026-03-09", "currency": "USD", **money(2_000, payments=1)},
    ]
    assert revenue.revenue_by_interval(PERIOD, "month") == [
        {"bucket": "2026-03-01", "currency": "EUR", **money(7_000, 230, 7_000, 230, 1, 1)},
        {"bucket": "2026-03-01", "currency": "USD", **money(17_000, 495, 3_000, 96, 3, 1)},
    ]
    assert revenue.revenue_by(PERIOD, "method") == [
        {"method": "bank_transfer", "currency": "USD", **money(2_000, payments=1)},
        {"method": "card", "currency": "EUR", **money(7_000, 230, 7_000, 230, 1, 1)},
        {"method": "card", "currency": "USD", **money(15_000, 495, 3_000, 96, 2, 1)},
    ]
    assert revenue.revenue_by(Period(PERIOD.start, PERIOD.end, "USD"), "provider") == [
        {"provider": "sandbox", "currency": "USD", **money(12_000, 320, 3_000, 96, 2, 1)},
        {"provider": "stripe", "currency": "USD", **money(5_000, 175, payments=1)},
    ]


def test_interval_is_checked():
    assert revenue.parse_interval(None) == "day"
    assert revenue.parse_interval("Week") == "week"
    with pytest.raises(InvalidPeriod) as info:
        revenue.parse_interval("year")
    assert (info.value.code, info.value.details) == ("invalid_period", {"field": "interval"})


def test_page_tiles_charts_csv_and_a_bounded_number_of_queries(book, staff_client):
    client = staff_client("support")
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"{URL}?{QUERY}&interval=week")
    assert response.status_code == 200
    page = response.context["page"]
    tiles = {t.key: (t.text, t.change["text"] if t.change else None) for t in page.sections[0].tiles}
    assert tiles == {
        "gross_eur": ("70.00 EUR", "new"), "fees_eur": ("2.30 EUR", "new"), "refunds_eur": ("70.00 EUR", "new"),
        "net_eur": ("0.00 EUR", "no change"),
        "gross_usd": ("170.00 USD", "+325.0 %"), "fees_usd": ("4.95 USD", "+395.0 %"),
        "refunds_usd": ("30.00 USD", "new"), "net_usd": ("136.01 USD", "+248.7 %")}  # against 39.00 (40.00 - 1.00)
    assert [c.name for c in page.charts] == ["revenue_by_interval", "revenue_by_method", "revenue_by_provider",
                                            "forecast", "forecast_backtest"]
    assert page.chart("forecast").empty and "at least 14 days" in page.chart("forecast").empty_text
    assert "No stored forecast for EUR, USD" in response.content.decode()
    page_queries = len(queries)
    csv_response = client.get(f"{URL}?{QUERY}&interval=week&format=csv&chart=revenue_by_interval")
    assert csv_response.status_code == 200
    assert list(csv.reader(io.StringIO(csv_response.content.decode()))) == [
        ["bucket", "currency", "gross", "fees", "refunds", "fees_returned", "net", "payments", "refund_count"],
        ["2026-03-02", "EUR", "70.00", "2.30", "0.00", "0.00", "67.70", "1", "0"],
        ["2026-03-02", "USD", "150.00", "4.95", "30.00", "0.96", "116.01", "2", "1"],
        ["2026-03-09", "EUR", "0.00", "0.00", "70.00", "2.30", "-67.70", "0", "1"],
        ["2026-03-09", "USD", "20.00", "0.00", "0.00", "0.00", "20.00", "1", "0"]]
    # the CSV link keeps the interval
    assert "interval=week&amp;format=csv&amp;chart=revenue_by_interval" in response.content.decode()
    # more rows do not mean more queries
    customer = Payment.objects.first().customer
    for day in range(2, 15):
        captured(customer, at(f"2026-03-{day:02d}", "08:00"), 100, 1, currency="GBP", provider=f"p{day}")
    with CaptureQueriesContext(connection) as queries:
        assert client.get(f"{URL}?{QUERY}&interval=week").status_code == 200
    assert len(queries) == page_queries


def test_bad_interval_is_the_pages_400(staff_client):
    client = staff_client("admin")
    response = client.get(f"{URL}?interval=fortnight")
    assert response.status_code == 400
    assert "interval must be one of day, week, month." in response.content.decode()
    assert client.get(f"{URL}?interval=fortnight&format=csv&chart=forecast").status_code == 400


def test_empty_page_shows_empty_states(staff_client):
    response = staff_client("admin").get(f"{URL}?{QUERY}")
    assert response.status_code == 200
    page = response.context["page"]
    assert page.sections[0].tiles == []
    assert [(c.name, c.empty) for c in page.charts] == [
        ("revenue_by_interval", True), ("revenue_by_method", True), ("revenue_by_provider", True),
        ("forecast", True), ("forecast_backtest", True)]
    assert "No forecast stored." in response.content.decode()


def test_page_needs_view_payment(make_staff, verified_client):
    from accounts.models import StaffTOTPDevice

    user = make_staff(role="support")
    user.groups.clear()
    client = verified_client(user, StaffTOTPDevice.objects.create(user=user, name="default", confirmed=True))
    assert client.get(URL).status_code == 403


# The backtest ---------------------------------------------------------------------------------------------------

def test_seasonal_naive_backtest_on_a_series_with_known_error():
    # four weeks at levels 100, 100, 200, 100, one zero day in the last week
    series = [100.0] * 14 + [200.0] * 7 + [100.0] * 7
    series[25] = 0.0
    assert seasonal_naive(series[:14], 3) == [100.0, 100.0, 100.0]
    result = backtest(series, seasonal_naive, horizon=7, count=2, step=7)
    # origin 14: predicts 100 for 7 days of 200 (error 1/2 each); origin 21: predicts 200 for 6 non-zero days of 100
    # (error 1 each), the zero day excluded: (7 * 0.5 + 6 * 1) / 13
    assert result.origins == [14, 21]
    assert (result.points, result.excluded_zero_days) == (13, 1)
    assert result.mape == Decimal("0.7308")
    assert mape([0, 0], [1, 2]) is None
    assert mape([100, 50], [110, 40]) == Decimal("0.1500")


def test_rolling_origins_are_a_week_apart_and_need_two_weeks_of_training():
    assert origins(120) == [69, 76, 83, 90]
    assert origins(60) == [16, 23, 30]
    assert origins(44) == [14]
    assert origins(43) == []


# The stored forecast ---------------------------------------------------------------------------------------------

WEEK = [1_000, 1_100, 1_200, 1_150, 1_300, 700, 600]
START = dt.date(2026, 1, 1)


def truth(day: int) -> int:
    return WEEK[day % 7] * 10 + 20 * day  # a weekly shape on a rising trend


@pytest.fixture
def history(customer):
    """60 days of USD captures (day 0 = 1 January) and 10 days of EUR; the job runs on day 60."""
    for day in range(60):
        captured(customer, dt.datetime.combine(START + dt.timedelta(days=day), dt.time(9), tzinfo=dt.UTC),
                 truth(day), 0)
    for day in range(50, 60):
        captured(customer, dt.datetime.combine(START + dt.timedelta(days=day), dt.time(9), tzinfo=dt.UTC),
                 5_000, 0, currency="EUR")
    return dt.datetime.combine(START + dt.timedelta(days=60), dt.time(0, 20), tzinfo=dt.UTC)


def test_forecast_is_computed_backtested_and_stored(history, actor):
    with clock.frozen_at(history):
        run = forecast_compute(actor=actor)
    assert run.skipped == {"EUR": "10 days of history; a forecast needs at least 14."}
    assert [f.currency for f in run.stored] == ["USD"]
    forecast = RevenueForecast.objects.get()
    assert forecast.pk.startswith("rfc_")
    assert (forecast.currency, forecast.computed_at, forecast.horizon) == ("USD", history, 30)
    assert (forecast.training_start, forecast.training_end) == (dt.date(2026, 1, 1), dt.date(2026, 3, 1))
    assert forecast.model_name == "statsmodels.ETS(A,Ad,A,7)" and forecast.model_version == "0.15.0"
    assert forecast.origins == ["2026-01-17", "2026-01-24", "2026-01-31"]
    assert (forecast.backtest_points, forecast.excluded_zero_days) == (90, 0)
    series = [float(truth(d)) for d in range(60)]
    assert forecast.baseline_mape == backtest(series, seasonal_naive).mape
    # seasonal naive misses the trend (140 a week on about 10,000); the model's error is stored beside it
    assert forecast.baseline_mape > Decimal("0.01")
    assert Decimal(0) < forecast.mape < Decimal("0.10")
    assert [p["date"] for p in forecast.points[:2]] == ["2026-03-02", "2026-03-03"]
    assert len(forecast.points) == 30
    for i, point in enumerate(forecast.points):
        assert point["lower"] <= point["value"] <= point["upper"]
        assert abs(point["value"] - truth(60 + i)) < truth(60 + i) * 0.10  # shape and trend followed


def test_the_task_stores_forecasts_and_is_scheduled_daily(history):
    from django_celery_beat.models import PeriodicTask

    with clock.frozen_at(history):
        assert compute_revenue_forecasts() == {"stored": ["USD"], "skipped": {
            "EUR": "10 days of history; a forecast needs at least 14."}}
    assert RevenueForecast.objects.count() == 1
    task = PeriodicTask.objects.get(task=FORECAST_TASK)
    assert (task.crontab.hour, task.crontab.minute, task.enabled) == ("0", "20", True)


def test_page_reads_the_newest_stored_forecast(history, actor, staff_client):
    with clock.frozen_at(history - dt.timedelta(days=1)):
        forecast_compute(actor=actor)
    with clock.frozen_at(history):
        newest = forecast_compute(actor=actor).stored[0]
    assert RevenueForecast.objects.count() == 2
    with clock.frozen_at(history):
        response = staff_client("admin").get(f"{URL}?from=2026-02-01&to=2026-03-01")
    page = response.context["page"]
    chart = page.chart("forecast")
    actual = [r for r in chart.rows if "actual" in r and r["currency"] == "USD"]
    predicted = [r for r in chart.rows if "forecast" in r]
    assert (actual[0]["date"], actual[-1]["date"], len(actual)) == ("2026-01-01", "2026-03-01", 60)
    assert actual[-1]["actual"] == truth(59)
    assert [r["forecast"] for r in predicted] == [p["value"] for p in newest.points]
    # The bounds are drawn as one band around the forecast (dashboards.js fills between them).
    assert [(d["label"], d.get("band")) for d in chart.payload()["datasets"]] == [
        ("Actual (USD)", None), ("Forecast (USD)", None),
        ("Lower (80 %) (USD)", {"edge": "lower", "label": "80 % interval (USD)", "around": "Forecast (USD)"}),
        ("Upper (80 %) (USD)", {"edge": "upper", "label": "80 % interval (USD)", "around": "Forecast (USD)"})]
    mape_tiles = {t.key: t.value for t in page.sections[1].tiles}
    assert mape_tiles == {"forecast_mape_usd": newest.mape, "baseline_mape_usd": newest.baseline_mape}
    assert f"model MAPE {newest.mape * 100:.1f} %" in chart.description
    assert "No stored forecast for EUR" in response.content.decode()
    backtest_rows = page.chart("forecast_backtest").rows
    assert [(r["currency"], r["mape"], r["origins"]) for r in backtest_rows] == [
        ("USD", newest.mape, "2026-01-17, 2026-01-24, 2026-01-31")]


# REST and MCP ----------------------------------------------------------------------------------------------------

def test_rest_breakdown_and_forecast(book, history, actor, client_for):
    with clock.frozen_at(history):
        forecast = forecast_compute(actor=actor).stored[0]
    reader = client_for("analytics:read", role="support")
    response = reader.get(f"{API}?{QUERY}&interval=month&currency=usd")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["object"], body["from"], body["to"], body["currency"], body["interval"]) == (
        "revenue_analytics", "2026-03-02", "2026-03-15", "USD", "month")
    assert body["totals"] == [{"currency": "USD", "gross": "170.00", "fees": "4.95", "refunds": "30.00",
                               "fees_returned": "0.96", "net": "136.01", "payments": 3, "refund_count": 1}]
    assert body["by_interval"] == [{"bucket": "2026-03-01", **body["totals"][0]}]
    assert [(r["method"], r["gross"]) for r in body["by_method"]] == [("bank_transfer", "20.00"),
                                                                      ("card", "150.00")]
    assert [(r["provider"], r["net"]) for r in body["by_provider"]] == [("sandbox", "87.76"), ("stripe", "48.25")]
    [stored] = body["forecasts"]
    assert (stored["currency"], stored["mape"], stored["baseline_mape"], stored["horizon"]) == (
        "USD", str(forecast.mape), str(forecast.baseline_mape), 30)
    assert stored["points"][0] == {"date": "2026-03-02", "value": f"{forecast.points[0]['value'] / 100:.2f}",
                                   "lower": f"{forecast.points[0]['lower'] / 100:.2f}",
                                   "upper": f"{forecast.points[0]['upper'] / 100:.2f}"}
    assert body["currencies_without_forecast"] == []
    everything = reader.get(f"{API}?{QUERY}").json()
    assert everything["currencies_without_forecast"] == ["EUR"]
    assert RevenueForecast.objects.count() == 1  # reading never computes


def test_rest_refusals(client_for):
    reader = client_for("analytics:read")
    assert reader.get(f"{API}?interval=year").json()["error"]["code"] == "validation_error"
    bad = reader.get(f"{API}?from=2026-03-10&to=2026-03-01")
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "invalid_period")
    assert reader.get(f"{API}?currency=XYZ").json()["error"]["code"] == "unsupported_currency"
    denied = client_for("payments:read").get(API)
    assert (denied.status_code, denied.json()["error"]["code"]) == (403, "insufficient_scope")


def test_mcp_tool_answers_like_rest(book, make_key, client_for):
    mcp = McpClient(make_key("analytics:read", role="finance").raw_key)
    result = mcp.ok("generate_revenue_analytics", {"from": "2026-03-02", "to": "2026-03-15", "interval": "week"})
    rest = client_for("analytics:read").get(f"{API}?{QUERY}&interval=week").json()
    assert result == rest
    assert [(r["bucket"], r["currency"], r["net"]) for r in result["by_interval"]] == [
        ("2026-03-02", "EUR", "67.70"), ("2026-03-02", "USD", "116.01"), ("2026-03-09", "EUR", "-67.70"),
        ("2026-03-09", "USD", "20.00")]


def test_demo_seed_computes_forecasts_once_a_day(history):
    from django.core.management.base import OutputWrapper

    from monitoring import demo_revenue

    out = io.StringIO()
    with clock.frozen_at(history):
        demo_revenue.seed(rng=None, stdout=OutputWrapper(out))
        demo_revenue.seed(rng=None, stdout=OutputWrapper(out))
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("  revenue forecasts: 1 stored (USD), skipped EUR: 10 days of history;")
    assert lines[1] == "  revenue forecasts: already computed today"
    assert RevenueForecast.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_model_is_fitted_outside_any_transaction_and_old_forecasts_go(history, actor, monkeypatch):
    from django.db import connection

    from monitoring import services_revenue

    fitted_in_transaction = []
    fit = services_revenue._forecast_one

    def spy(*args, **kwargs):
        fitted_in_transaction.append(connection.in_atomic_block)
        return fit(*args, **kwargs)

    monkeypatch.setattr(services_revenue, "_forecast_one", spy)
    with clock.frozen_at(history):
        forecast_compute(actor=actor)
    with clock.frozen_at(history + dt.timedelta(days=services_revenue.RETENTION_DAYS + 1)):
        run = forecast_compute(actor=actor)  # the first forecast is now past its retention
    assert len(fitted_in_transaction) >= 2 and not any(fitted_in_transaction)
    assert set(RevenueForecast.objects.values_list("pk", flat=True)) == {f.pk for f in run.stored} != set()


def test_every_interval_s_buckets_add_up_to_the_period_totals(book):
    eur = Period(PERIOD.start, PERIOD.end, "EUR")
    assert revenue.revenue_totals(eur) == {"EUR": money(7_000, 230, 7_000, 230, 1, 1)}
    assert revenue.revenue_totals(PERIOD.previous()) == {"USD": money(4_000, 100, payments=1)}
    for period in (PERIOD, eur):
        for interval in revenue.INTERVALS:
            summed: dict[str, dict[str, int]] = {}
            for row in revenue.revenue_by_interval(period, interval):
                total = summed.setdefault(row["currency"], dict.fromkeys(money(), 0))
                for key in total:
                    total[key] += row[key]
            assert summed == revenue.revenue_totals(period), (period, interval)
