"""Writes of custom reports: saving a definition under a name (the admin's report builder and form)."""

from __future__ import annotations

from typing import Any

from core.audit import audit_record
from core.context import Actor
from core.db import use_case
from core.models import stamp, touch

from .analytics.reports import validate_definition
from .audit_reports import ReportsAction
from .errors_reports import ReportDefinitionInvalid
from .models import SavedReport


@use_case
def saved_report_save(
    *, actor: Actor, name: str, definition: Any, report: SavedReport | None = None, owner: Any = None
) -> SavedReport:
    """Creates (no `report`) or changes a saved report; the definition is validated as generate_custom_report
    validates it and stored in its normal form. Audited."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ReportDefinitionInvalid("A saved report has a name of 1 to 100 characters.", details={"field": "name"})
    normal = validate_definition(definition).as_dict()
    if report is None or report._state.adding:
        report = report or SavedReport()
        report.name, report.definition, report.owner = name, normal, owner
        stamp(report, actor=actor)
        report.save(force_insert=True)
        action = ReportsAction.SAVED_REPORT_CREATED
    else:
        report.name, report.definition = name, normal
        touch(report, "name", "definition")
        action = ReportsAction.SAVED_REPORT_UPDATED
    audit_record(action=action, actor=actor, obj=report, details={"name": name, "definition": normal})
    return report
