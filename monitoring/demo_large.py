"""The large seed's monitoring step: the customer activity rollups built over everything the seed wrote, so the
customers page reads them at once (the five-minute refresh would otherwise build them on its first run)."""

from __future__ import annotations

from typing import Any

from .services_rollups import customer_activity_refresh


def seed_large(large: Any) -> None:
    with large.timer.phase("monitoring: customer activity rollups") as note:
        run = customer_activity_refresh(full=True, now=large.now)
        note["first payments"], note["customer months"], note["cohort cells"] = (
            run.first_payments, run.active_months, run.cohort_cells)
