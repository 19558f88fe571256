"""Demo revenue forecasts: the daily job's computation run once over the demo payments, so `make run` shows a
forecast before the first nightly run. Idempotent in effect: a second run stores a newer forecast, the page
reads the newest."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from core import clock
from core.context import Actor

from .models import RevenueForecast
from .services_revenue import forecast_compute


def seed(*, rng: Any, stdout: Any) -> None:
    today = clock.now().astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if RevenueForecast.objects.filter(computed_at__gte=today).exists():
        stdout.write("  revenue forecasts: already computed today")
        return
    started = time.monotonic()
    run = forecast_compute(actor=Actor.system("demo"))
    skipped = "; ".join(f"{code}: {why}" for code, why in sorted(run.skipped.items()))
    stdout.write(f"  revenue forecasts: {len(run.stored)} stored ({', '.join(f.currency for f in run.stored)})"
                 f"{', skipped ' + skipped if skipped else ''} in {time.monotonic() - started:.1f}s")
