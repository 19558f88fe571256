"""Reads of the compliance app."""

from __future__ import annotations

from core.ids import get_by_public_id

from .errors import ExportNotFound
from .models import ComplianceExport


# --- exports ---------------------------------------------------------------------------------------
def compliance_export_get(*, export_id: str) -> ComplianceExport:
    return get_by_public_id(ComplianceExport.objects.all(), export_id, field="export_id", error=ExportNotFound)
