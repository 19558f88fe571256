"""Revenue: gross, fees, refunds and net per currency by day, week or month, by method and by provider, and
the stored 30-day forecast beside its backtested error and the seasonal-naive baseline's."""

from __future__ import annotations

import datetime as dt
from typing import Any

from monitoring.analytics import payment_days, revenue
from monitoring.analytics.backtest import MIN_SEASONS, SEASON
from monitoring.models import RevenueForecast

from .charts import Band, Chart, Column, Page, Section, Tile
from .period import Period
from .registry import PageOption, register_page

ACTUAL_DAYS = 60  # actual days drawn before the forecast
_TILES = (("gross", "Gross"), ("fees", "Fees"), ("refunds", "Refunds"), ("net", "Net"))
_MONEY = [Column("gross", "Gross", "money"), Column("fees", "Fees", "money"), Column("refunds", "Refunds", "money"),
          Column("fees_returned", "Fees returned", "money"), Column("net", "Net", "money"),
          Column("payments", "Captured payments", "int"), Column("refund_count", "Refunds (count)", "int")]
DEFINITIONS = ("Gross: captured amounts on their capture day. Fees: the provider fees of those captures. Refunds: "
               "succeeded refunds on the day they were made. Net = gross - fees - refunds + fees returned by refunds.")
NO_FORECAST = (f"No forecast stored. The daily job (monitoring.compute_revenue_forecasts) stores one per currency "
               f"once it has at least {MIN_SEASONS * SEASON} days of captured payments ({MIN_SEASONS} weeks).")


def _tiles(period: Period, rows: list[dict[str, Any]], previous_rows: list[dict[str, Any]]) -> list[Tile]:
    now = revenue.revenue_totals(period, rows)
    before = revenue.revenue_totals(period.previous(), previous_rows)
    tiles = []
    for code in sorted(now):
        for key, label in _TILES:
            previous = before.get(code, {}).get(key, 0)
            tiles.append(Tile(f"{key}_{code.lower()}", f"{label} {code}", now[code][key], "money", code,
                              previous=previous, lower_is_better=key in ("fees", "refunds")))
    return tiles


def _forecast_rows(forecasts: list[RevenueForecast]) -> list[dict[str, Any]]:
    if not forecasts:
        return []
    end = max(f.training_end for f in forecasts)
    actual = revenue.daily_gross(end=end, days=ACTUAL_DAYS)
    rows: list[dict[str, Any]] = []
    for forecast in forecasts:
        since = forecast.training_end - dt.timedelta(days=ACTUAL_DAYS - 1)
        rows += [{"date": day.isoformat(), "currency": forecast.currency, "actual": value}
                 for day, value in actual.get(forecast.currency, []) if since <= day <= forecast.training_end]
        rows += [{"date": p["date"], "currency": forecast.currency, "forecast": p["value"], "lower": p["lower"],
                  "upper": p["upper"]} for p in forecast.points]
    return sorted(rows, key=lambda r: (r["date"], r["currency"]))


def _rate_text(value: Any) -> str:
    return "n/a" if value is None else f"{value * 100:.1f} %"


def _forecast_section(forecasts: list[RevenueForecast]) -> list[Tile]:
    tiles = []
    for f in forecasts:
        code = f.currency.lower()
        tiles.append(Tile(f"forecast_mape_{code}", f"Forecast MAPE {f.currency}", f.mape, "rate",
                          detail=f"{f.model_name} {f.model_version}, {len(f.origins)} origins x {f.horizon} days",
                          lower_is_better=True))
        tiles.append(Tile(f"baseline_mape_{code}", f"Seasonal-naive MAPE {f.currency}", f.baseline_mape, "rate",
                          detail="weekly seasonal naive, same origins", lower_is_better=True))
    return tiles


def _backtest_rows(forecasts: list[RevenueForecast]) -> list[dict[str, Any]]:
    return [{"currency": f.currency, "model": f"{f.model_name} {f.model_version}",
             "computed_at": f.computed_at, "mape": f.mape,
             "baseline_mape": f.baseline_mape, "training": f"{f.training_start} to {f.training_end}",
             "origins": ", ".join(f.origins), "points": f.backtest_points, "zero_days": f.excluded_zero_days,
             "forecast_total": sum(p["value"] for p in f.points)} for f in forecasts]


@register_page("revenue", "Revenue", permission="payments.view_payment",
               description="Gross, fees, refunds and net per currency, and the next 30 days' forecast.",
               options=(PageOption("interval", "Interval", revenue.INTERVALS, revenue.parse_interval),))
def build(period: Period, interval: str = "day") -> Page:
    forecasts = revenue.latest_forecasts(period.currency)
    rows = payment_days.day_rows(period.with_previous())
    current = payment_days.between(rows, period.start, period.end)
    by_interval = revenue.revenue_by_interval(period, interval, current)
    description = "; ".join(f"{f.currency}: model MAPE {_rate_text(f.mape)}, seasonal-naive MAPE "
                            f"{_rate_text(f.baseline_mape)}" for f in forecasts)
    missing = sorted({r["currency"] for r in by_interval} - {f.currency for f in forecasts})
    notes = [DEFINITIONS]
    if missing:
        notes.append(f"No stored forecast for {', '.join(missing)}: " + NO_FORECAST)
    previous = period.previous()
    sections = [Section("This period", _tiles(period, current,
                                              payment_days.between(rows, previous.start, previous.end)))]
    if forecasts:
        sections.append(Section("Forecast error (backtest)", _forecast_section(forecasts)))
    return Page("Revenue", sections=sections, notes=notes, charts=[
        Chart("revenue_by_interval", f"Revenue by {interval}", "line",
              [Column("bucket", interval.capitalize(), "date"), Column("currency", "Currency"), *_MONEY],
              by_interval, x="bucket", series=["gross", "net"], group="currency",
              description=f"Each {interval} from its first day; net = gross - fees - refunds + fees returned."),
        Chart("revenue_by_method", "Revenue by payment method", "bar",
              [Column("method", "Method"), Column("currency", "Currency"), *_MONEY],
              revenue.revenue_by(period, "method", current), x="method", series=["gross", "net"], group="currency"),
        Chart("revenue_by_provider", "Revenue by provider", "bar",
              [Column("provider", "Provider"), Column("currency", "Currency"), *_MONEY],
              revenue.revenue_by(period, "provider", current), x="provider", series=["gross", "net"], group="currency"),
        Chart("forecast", "Daily gross: last 60 days and 30-day forecast", "line",
              [Column("date", "Day", "date"), Column("currency", "Currency"), Column("actual", "Actual", "money"),
               Column("forecast", "Forecast", "money"), Column("lower", "Lower (80 %)", "money"),
               Column("upper", "Upper (80 %)", "money")],
              _forecast_rows(forecasts), x="date", series=["actual", "forecast", "lower", "upper"],
              group="currency", description=description, empty_text=NO_FORECAST,
              band=Band("lower", "upper", around="forecast", label="80 % interval")),
        Chart("forecast_backtest", "Forecast backtest", "table",
              [Column("currency", "Currency"), Column("model", "Model"),
               Column("computed_at", "Computed (UTC)", "date"),
               Column("mape", "Model MAPE", "rate"), Column("baseline_mape", "Seasonal-naive MAPE", "rate"),
               Column("training", "Training window"), Column("origins", "Backtest origins"),
               Column("points", "Days scored", "int"), Column("zero_days", "Zero days excluded", "int"),
               Column("forecast_total", "Forecast 30-day total", "money")],
              _backtest_rows(forecasts), empty_text=NO_FORECAST),
    ])
