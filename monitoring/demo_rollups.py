"""Demo data: the rollups built over the demo payments: customer activity (the customers page's cohort table and
first payments), payment days (revenue, payments, overview) and MRR months (subscriptions); the five-minute
refreshes keep them current."""

from __future__ import annotations

from typing import Any

from subscriptions.mrr_rollup import mrr_months_refresh

from .services_rollups import customer_activity_refresh, customers_snapshot_refresh, payment_days_refresh


def seed(*, rng: Any, stdout: Any) -> None:
    run = customer_activity_refresh(full=True)
    stdout.write(f"  customer activity rollups: {run.first_payments} first payments, {run.active_months} customer "
                 f"months, {run.cohort_cells} cohort cells")
    days = payment_days_refresh(full=True)
    stdout.write(f"  payment days rollup: {days.rows} rows over {days.days} days")
    months = mrr_months_refresh()
    stdout.write(f"  MRR months rollup: {months.rows} rows over {months.months} closed months")
    snapshot = customers_snapshot_refresh()
    stdout.write(f"  customers page snapshot: {snapshot}")
