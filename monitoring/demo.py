"""Monitoring's demo data, one part each (`manage.py seed_demo`)."""

from typing import Any

from . import demo_requestlog


def seed(*, rng: Any, stdout: Any) -> None:
    demo_requestlog.seed(rng=rng, stdout=stdout)
