"""Demo data of the monitoring app, one module per part."""

from __future__ import annotations

from typing import Any

from . import demo_health


def seed(*, rng: Any, stdout: Any) -> None:
    demo_health.seed(rng=rng, stdout=stdout)
