"""Demo data of the monitoring app, one module per part; alerts last, as they read what the others made."""

from __future__ import annotations

from typing import Any

from . import demo_alerts, demo_errors, demo_health, demo_metrics, demo_requestlog, demo_revenue, demo_rollups


def seed(*, rng: Any, stdout: Any) -> None:
    demo_health.seed(rng=rng, stdout=stdout)
    demo_metrics.seed(rng=rng, stdout=stdout)
    demo_requestlog.seed(rng=rng, stdout=stdout)
    demo_errors.seed(rng=rng, stdout=stdout)
    demo_alerts.seed(rng=rng, stdout=stdout)
    demo_revenue.seed(rng=rng, stdout=stdout)
    demo_rollups.seed(rng=rng, stdout=stdout)
