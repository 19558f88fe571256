"""Writes of the compliance app."""

from __future__ import annotations

import datetime as dt
import json

from core.audit import audit_record
from core.context import Actor
from core.db import use_case

from . import selectors
from .audit import ComplianceAction

# --- audit report (report helper) -------------------------------------------------------------------

AUDIT_REPORT_OBJECT_TYPE = "compliance.auditreport"
AUDIT_REPORT_FORMATS = ("csv", "json")


@use_case
def audit_report_download(*, actor: Actor, start: dt.date, end: dt.date, file_format: str) -> str:
    """The audit report of start..end as a file (CSV rows or the JSON the API answers). A download is
    an export: it is audited (`compliance.audit_report_downloaded`) in the transaction that builds it;
    the event is not part of the file it records."""
    if file_format not in AUDIT_REPORT_FORMATS:
        raise ValueError(f"Unknown audit report format {file_format!r}.")
    report = selectors.audit_report(start=start, end=end)
    content = (selectors.audit_report_csv(report) if file_format == "csv"
               else json.dumps(report, indent=2, sort_keys=False) + "\n")
    audit_record(action=ComplianceAction.AUDIT_REPORT_DOWNLOADED, actor=actor, object_type=AUDIT_REPORT_OBJECT_TYPE,
                 object_id=f"{start.isoformat()}..{end.isoformat()}",
                 details={"from": start.isoformat(), "to": end.isoformat(), "format": file_format,
                          "total_events": report["total_events"]})
    return content
