"""Demo data of the monitoring app: each part's `seed` (metrics, health, alerts, errors, request log)."""

from . import demo_metrics


def seed(*, rng, stdout) -> None:
    demo_metrics.seed(rng=rng, stdout=stdout)
