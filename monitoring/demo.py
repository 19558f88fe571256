"""Demo data of monitoring, one module per part."""

from __future__ import annotations

from . import demo_alerts


def seed(*, rng, stdout) -> None:
    demo_alerts.seed(rng=rng, stdout=stdout)
