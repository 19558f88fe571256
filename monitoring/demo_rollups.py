"""Demo data: the rollups built over the demo payments: customer activity (the customers page's cohort table and
first payments) and payment days (revenue, payments, overview); the five-minute refreshes keep them current."""

from __future__ import annotations

from typing import Any

from .services_rollups import customer_activity_refresh, payment_days_refresh


def seed(*, rng: Any, stdout: Any) -> None:
    run = customer_activity_refresh(full=True)
    stdout.write(f"  customer activity rollups: {run.first_payments} first payments, {run.active_months} customer "
                 f"months, {run.cohort_cells} cohort cells")
    days = payment_days_refresh(full=True)
    stdout.write(f"  payment days rollup: {days.rows} rows over {days.days} days")
