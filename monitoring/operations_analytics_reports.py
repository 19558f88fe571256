"""generate_custom_report: a report over payments and refunds from a whitelisted definition (read-only)."""

from __future__ import annotations

from typing import Any

from core.context import Actor
from core.ids import get_by_public_id
from core.operations import Operation, register

from .analytics.reports import DIMENSIONS, FILTERS, MAX_DAYS, MAX_LIMIT, METRICS, report_generate, report_output
from .models import SavedReport
from .serializers_analytics_reports import ReportInput, ReportOutputSerializer


def _generate(*, actor: Actor, saved_report_id: str | None = None, **definition: Any) -> dict[str, Any]:
    if saved_report_id is not None:
        saved = get_by_public_id(
            SavedReport.objects.all(), saved_report_id, field="saved_report_id", message="No such saved report."
        )
        definition = {**saved.definition, **{k: v for k, v in definition.items() if k in ("from", "to")}}
    return report_output(report_generate(definition))


register(
    Operation(
        name="generate_custom_report",
        title="Custom report over payments and refunds",
        description=(
            "Runs a report chosen from whitelists (no SQL): metrics (" + ", ".join(METRICS) + "), up to 3 "
            "dimensions ("
            + ", ".join(DIMENSIONS)
            + "; one of day/week/month), filters {name: [values]} ("
            + ", ".join(FILTERS)
            + f"), from/to UTC days (to inclusive, at most {MAX_DAYS} days) and limit "
            f"(1-{MAX_LIMIT}, default 100); or saved_report_id (srpt_) to run a saved one. Returns columns "
            "and rows; money is a decimal string beside the row's currency (money metrics are grouped by "
            "currency), rates are decimal fractions. Read-only: stores nothing. Errors: "
            "unknown_report_metric, unknown_report_dimension, unknown_report_filter (each with the allowed "
            "list), invalid_report_definition, not_found, validation_error."
        ),
        handler=_generate,
        scope="analytics:read",
        permission="payments.view_payment",
        input=ReportInput,
        output=ReportOutputSerializer,
        tags=("analytics",),
    )
)
