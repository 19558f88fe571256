"""Demo data: the customer activity rollups built over the demo payments (the customers page's cohort table and
first payments read them; the five-minute refresh keeps them current afterwards)."""

from __future__ import annotations

from typing import Any

from .services_rollups import customer_activity_refresh


def seed(*, rng: Any, stdout: Any) -> None:
    run = customer_activity_refresh(full=True)
    stdout.write(f"  customer activity rollups: {run.first_payments} first payments, {run.active_months} customer "
                 f"months, {run.cohort_cells} cohort cells")
