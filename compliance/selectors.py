"""Reads of the compliance app."""

from __future__ import annotations

from typing import Any

from core.context import Actor
from core.ids import get_by_public_id

from .errors import ExportNotFound
from .models import ComplianceExport


# --- PCI self-assessment ---------------------------------------------------------------------------
def pci_assessment_live(*, actor: Actor) -> dict[str, Any]:
    """Runs every PCI check now (nothing is stored): `{"score", "checks", "assessed_at"}`."""
    from . import pci

    return pci.run_assessment()







# --- exports ---------------------------------------------------------------------------------------
def compliance_export_get(*, export_id: str) -> ComplianceExport:
    return get_by_public_id(ComplianceExport.objects.all(), export_id, field="export_id", error=ExportNotFound)
