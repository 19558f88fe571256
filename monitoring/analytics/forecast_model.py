"""The forecasting model: statsmodels' ETS (additive error, damped additive trend, additive weekly season),
chosen over statsforecast's AutoETS by `bench/forecast.py` (docs/dashboards/revenue.md has the figures).

Imported only by the forecast job and the benchmark: pages and the API read stored forecasts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .backtest import SEASON

MODEL_NAME = "statsmodels.ETS(A,Ad,A,7)"
INTERVAL = 0.80  # the band drawn around the forecast


def model_version() -> str:
    import statsmodels

    return str(statsmodels.__version__)


@dataclass(frozen=True)
class Prediction:
    mean: list[float]
    lower: list[float]
    upper: list[float]


def _fit(history: Sequence[float]):
    import pandas as pd
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    # A pandas series (plain integer index): prediction intervals (summary_frame) need one.
    model = ETSModel(pd.Series(list(history), dtype=float), error="add", trend="add", damped_trend=True,
                     seasonal="add", seasonal_periods=SEASON)
    return model.fit(disp=False)


def ets_fit_predict(history: Sequence[float], horizon: int) -> list[float]:
    """The point forecast only (what the backtest scores)."""
    return [float(v) for v in _fit(history).forecast(horizon)]


def ets_predict(history: Sequence[float], horizon: int) -> Prediction:
    """Point forecast and the INTERVAL prediction band (negative values clipped to zero: revenue is not
    negative)."""
    frame = _fit(history).get_prediction(start=len(history), end=len(history) + horizon - 1).summary_frame(
        alpha=1 - INTERVAL)
    clip = lambda values: [max(float(v), 0.0) for v in values]  # noqa: E731
    return Prediction(clip(frame["mean"]), clip(frame["pi_lower"]), clip(frame["pi_upper"]))
