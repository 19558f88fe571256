"""Backtesting a daily forecaster: rolling-origin MAPE, and the seasonal-naive baseline it is judged against.

Pure Python (no model library): the service, the benchmark (`bench/forecast.py`) and the tests share it.
A forecaster is `fit_predict(history: list[float], horizon: int) -> list[float]`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

SEASON = 7  # days: weekly seasonality of daily revenue
HORIZON = 30
ORIGINS = 4
MIN_SEASONS = 2  # fewer seasons of history than this: no forecast at all

Forecaster = Callable[[list[float], int], Sequence[float]]


def seasonal_naive(history: Sequence[float], horizon: int, season: int = SEASON) -> list[float]:
    """Each future day repeats the same weekday of the last observed week."""
    if len(history) < season:
        raise ValueError("seasonal naive needs one full season of history")
    last = list(history[-season:])
    return [float(last[i % season]) for i in range(horizon)]


def mape(actual: Sequence[float], predicted: Sequence[float]) -> Decimal | None:
    """Mean absolute percentage error as a fraction (0.125 = 12.5 %), over the days whose actual is not zero (a
    percentage of zero is undefined); None when every actual is zero."""
    terms = [abs(Decimal(str(p)) - Decimal(str(a))) / abs(Decimal(str(a)))
             for a, p in zip(actual, predicted, strict=True) if a != 0]
    if not terms:
        return None
    return (sum(terms, Decimal(0)) / len(terms)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN)


def origins(length: int, *, horizon: int = HORIZON, count: int = ORIGINS, step: int = SEASON,
            min_train: int = MIN_SEASONS * SEASON) -> list[int]:
    """Training lengths of the rolling origins, oldest first: the last origin leaves exactly `horizon` days to
    check, each earlier one is `step` days before; origins with less than `min_train` days behind them are
    dropped."""
    last = length - horizon
    return sorted(o for o in (last - k * step for k in range(count)) if o >= min_train)


@dataclass(frozen=True)
class Backtest:
    mape: Decimal | None
    origins: list[int]  # training lengths
    points: int  # (origin, day) pairs scored, zero actuals excluded
    excluded_zero_days: int


def backtest(series: Sequence[float], forecaster: Forecaster, *, horizon: int = HORIZON, count: int = ORIGINS,
             step: int = SEASON) -> Backtest:
    """Rolling-origin MAPE: at each origin the forecaster sees only the days before it and predicts the next
    `horizon` days; the error is pooled over every (origin, day) pair whose actual is not zero."""
    actual: list[float] = []
    predicted: list[float] = []
    cuts = origins(len(series), horizon=horizon, count=count, step=step)
    for cut in cuts:
        forecast = list(forecaster(list(series[:cut]), horizon))
        actual.extend(series[cut:cut + horizon])
        predicted.extend(forecast[:horizon])
    zeros = sum(1 for a in actual if a == 0)
    return Backtest(mape(actual, predicted), cuts, len(actual) - zeros, zeros)
