"""The large seed's monitoring step: the rollups (customer activity, payment days, MRR months) built over
everything the seed wrote, so the pages read them at once (the five-minute refreshes would otherwise build them on
their first run)."""

from __future__ import annotations

from typing import Any

from subscriptions.mrr_rollup import mrr_months_refresh

from .services_rollups import customer_activity_refresh, customers_snapshot_refresh, payment_days_refresh


def seed_large(large: Any) -> None:
    with large.timer.phase("monitoring: customer activity rollups") as note:
        run = customer_activity_refresh(full=True, now=large.now)
        note["first payments"], note["customer months"], note["cohort cells"] = (
            run.first_payments, run.active_months, run.cohort_cells)
    with large.timer.phase("monitoring: payment days rollup") as note:
        days = payment_days_refresh(full=True, now=large.now)
        note["days"], note["rows"] = days.days, days.rows
    with large.timer.phase("subscriptions: MRR months rollup") as note:
        months = mrr_months_refresh(now=large.now)
        note["months"], note["rows"] = months.months, months.rows
    with large.timer.phase("monitoring: customers page snapshot") as note:
        # Stamped with the clock, not the seed's start: the page shows a snapshot at most ten minutes old.
        note["paying customers"] = customers_snapshot_refresh().data["now"]["paying_customers"]
