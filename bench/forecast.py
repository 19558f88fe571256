"""Daily revenue forecasters compared: rolling-origin MAPE (4 origins a week apart, 30-day horizon, zero-actual
days excluded) and cold start-up / fit seconds, for statsmodels' ETS, statsforecast's AutoETS and the weekly
seasonal-naive baseline, on demo-like daily gross series (no database needed).

    .venv/bin/python bench/forecast.py [--seeds 5]

statsforecast is not a project dependency: install it elsewhere and put it on PYTHONPATH to compare, e.g.
`.venv/bin/pip install --target /tmp/sf statsforecast==2.1.1 && PYTHONPATH=/tmp/sf .venv/bin/python bench/forecast.py`.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

# The script's own folder holds bench/http.py, which would shadow the standard library's http (statsforecast
# imports http.client): the repository root replaces it on the path.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from monitoring.analytics.backtest import SEASON, backtest, seasonal_naive  # noqa: E402

IMPORTS = {
    "statsmodels-ets": "from statsmodels.tsa.exponential_smoothing.ets import ETSModel",
    "statsforecast-autoets": "from statsforecast.models import AutoETS",
}


def demo_like(rng: random.Random, days: int) -> list[float]:
    """Like payments/demo.py for USD: about 22 payments a day spread evenly, 40 % in USD, 85 % captured,
    amounts uniform in 5..500 USD, 1 % of them 40 times larger; no weekly pattern (the demo has none)."""
    out = []
    for _ in range(days):
        total = 0
        for _ in range(22):
            if rng.random() < 0.40 * 0.85:
                amount = rng.randint(500, 50_000)
                total += amount * 40 if rng.random() < 0.01 else amount
        out.append(float(total))
    return out


def weekly_business(rng: random.Random, days: int) -> list[float]:
    """A shop with a weekly pattern (weekends lower), a slow trend and 15 % log-normal noise."""
    shape = [1.0, 1.05, 1.1, 1.1, 1.2, 0.7, 0.6]
    return [round(100_000 * (1 + 0.002 * d) * shape[d % 7] * math.exp(rng.gauss(0, 0.15))) for d in range(days)]


def statsmodels_ets(history: list[float], horizon: int) -> list[float]:
    from monitoring.analytics.forecast_model import ets_fit_predict

    return ets_fit_predict(history, horizon)


def statsforecast_autoets(history: list[float], horizon: int) -> list[float]:
    import numpy as np
    from statsforecast.models import AutoETS

    model = AutoETS(season_length=SEASON)
    return [float(v) for v in model.forecast(y=np.asarray(history, dtype=float), h=horizon)["mean"]]


CANDIDATES = {"seasonal-naive": seasonal_naive, "statsmodels-ets": statsmodels_ets,
              "statsforecast-autoets": statsforecast_autoets}


def cold_import_seconds(name: str) -> float | None:
    """A fresh interpreter importing the library (what a worker pays once)."""
    code = f"import time; t = time.perf_counter(); {IMPORTS[name]}; print(time.perf_counter() - t)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=os.environ.copy(),
                          check=False)
    return float(done.stdout.strip()) if done.returncode == 0 else None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    datasets = {"demo-like (120 days)": (demo_like, 120), "weekly business (365 days)": (weekly_business, 365)}
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus; MAPE pooled over 4 origins x 30 days, "
          f"mean over {args.seeds} seeds")
    for name in IMPORTS:
        seconds = cold_import_seconds(name)
        print(f"cold import {name}: " + ("not installed" if seconds is None else f"{seconds:.2f} s"))
    for label, (make, days) in datasets.items():
        print(f"\n{label}")
        for name, forecaster in CANDIDATES.items():
            errors, fits = [], []
            first_fit = None
            try:
                for seed in range(args.seeds):
                    series = make(random.Random(seed), days)
                    started = time.perf_counter()
                    result = backtest(series, forecaster)
                    elapsed = time.perf_counter() - started
                    if first_fit is None:
                        first_fit = elapsed / len(result.origins)
                    fits.append(elapsed / len(result.origins))
                    errors.append(float(result.mape or 0))
            except ImportError as exc:
                print(f"  {name:24s} not installed ({exc.name})")
                continue
            print(f"  {name:24s} MAPE {statistics.mean(errors) * 100:6.1f} % (min {min(errors) * 100:.1f}, "
                  f"max {max(errors) * 100:.1f})  fit+predict {statistics.median(fits) * 1000:8.1f} ms median, "
                  f"first {first_fit * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
