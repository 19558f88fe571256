"""The revenue forecast job: per currency, fit the model on daily gross, backtest it and the seasonal-naive
baseline on rolling origins, store the forecast (`RevenueForecast`). Derived data recomputed daily from stored
payments, like the recorded health checks: not an operation, not audited."""

from __future__ import annotations

import datetime as dt
import logging
import warnings
from dataclasses import dataclass, field

from core import clock
from core.context import Actor
from core.db import run_in_transaction, use_case

from .analytics import backtest as bt
from .analytics import forecast_model
from .analytics.revenue import daily_gross
from .models import RevenueForecast

logger = logging.getLogger("monitoring")

TRAINING_DAYS = 365  # at most this much history is fitted
RETENTION_DAYS = 90  # older forecasts are deleted by the job


@dataclass
class ForecastRun:
    stored: list[RevenueForecast] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # currency -> why no forecast


def _minor(value: float) -> int:
    return max(round(value), 0)


def _forecast_one(currency: str, days: list[tuple[dt.date, int]], now: dt.datetime) -> RevenueForecast:
    series = [float(v) for _day, v in days]
    with warnings.catch_warnings():
        # statsmodels warns when the optimiser stops at its iteration cap on short or flat series; the backtest
        # measures what that fit is worth, so the warning adds nothing.
        warnings.simplefilter("ignore")
        model = bt.backtest(series, forecast_model.ets_fit_predict)
        prediction = forecast_model.ets_predict(series, bt.HORIZON)
    baseline = bt.backtest(series, bt.seasonal_naive)
    start, end = days[0][0], days[-1][0]
    points = [{"date": (end + dt.timedelta(days=i + 1)).isoformat(), "value": _minor(mean),
               "lower": _minor(low), "upper": _minor(high)}
              for i, (mean, low, high) in enumerate(zip(prediction.mean, prediction.lower, prediction.upper,
                                                        strict=True))]
    return RevenueForecast(
        currency=currency, computed_at=now, model_name=forecast_model.MODEL_NAME,
        model_version=forecast_model.model_version(), horizon=bt.HORIZON, points=points, mape=model.mape,
        baseline_mape=baseline.mape, training_start=start, training_end=end,
        origins=[(start + dt.timedelta(days=cut)).isoformat() for cut in model.origins],
        backtest_points=model.points, excluded_zero_days=model.excluded_zero_days)


@use_case(steps=True)
def forecast_compute(*, actor: Actor, currency: str | None = None) -> ForecastRun:
    """Fits, backtests and stores each currency's 30-day daily gross forecast from history up to yesterday (UTC;
    today is incomplete). A currency with less than two weeks of history gets no forecast (listed in
    `skipped` with the reason). Forecasts older than RETENTION_DAYS are deleted. The fitting (seconds per
    currency) runs outside any transaction, so no transaction stays open through it (an open one holds the audit
    chain's sealing back); the forecasts are stored, and old ones deleted, in one short transaction after."""
    now = clock.now()
    yesterday = now.astimezone(dt.UTC).date() - dt.timedelta(days=1)
    run = ForecastRun()
    minimum = bt.MIN_SEASONS * bt.SEASON
    for code, days in daily_gross(end=yesterday, days=TRAINING_DAYS, currency=currency).items():
        if len(days) < minimum:
            run.skipped[code] = f"{len(days)} days of history; a forecast needs at least {minimum}."
            continue
        try:
            forecast = _forecast_one(code, days, now)
        except (ValueError, ArithmeticError) as exc:  # numpy's LinAlgError is a ValueError
            logger.warning("revenue forecast for %s failed: %s", code, exc)
            run.skipped[code] = f"the model could not be fitted: {exc}"[:200]
            continue
        run.stored.append(forecast)
    run_in_transaction(lambda: _store(run.stored, now))
    return run


def _store(forecasts: list[RevenueForecast], now: dt.datetime) -> None:
    RevenueForecast.objects.bulk_create(forecasts)
    RevenueForecast.objects.filter(computed_at__lt=now - dt.timedelta(days=RETENTION_DAYS)).delete()
