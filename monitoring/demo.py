"""Demo data of the monitoring app, one module per part (`seed(rng=, stdout=)` each)."""

from __future__ import annotations

from typing import Any

from . import demo_errors


def seed(rng: Any = None, stdout: Any = None) -> None:
    demo_errors.seed(rng=rng, stdout=stdout)
