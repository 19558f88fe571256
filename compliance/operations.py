"""Public compliance operations. Names are the MCP tool names: a contract."""

from __future__ import annotations

from core.operations import Operation, register

# --- PCI self-assessment ---------------------------------------------------------------------------
from . import selectors as _pci_selectors
from . import services as _pci_services
from .serializers import PciAssessmentSerializer, PciComplianceSerializer

PCI_TAGS = ("compliance",)

register(Operation(
    name="validate_pci_compliance", title="Validate PCI DSS compliance",
    description=("Runs the PCI DSS v4.0.1 self-assessment against the running system now and returns a score "
                 "(0-100: the share of applicable checks passed) and each check with its id, requirement (e.g. "
                 "8.4.2), title, status (passed, failed, not_applicable) and evidence (counts, names, setting "
                 "values, sample sizes; card numbers only as their last four digits). Reads only; nothing is "
                 "recorded. Takes no arguments."),
    handler=_pci_selectors.pci_assessment_live, scope="compliance:read",
    permission="compliance.view_pciassessment", output=PciComplianceSerializer, tags=PCI_TAGS,
))
register(Operation(
    name="run_pci_assessment", title="Run and record a PCI assessment",
    description=("Runs the PCI DSS self-assessment and records it (pci_) with its score and every check's "
                 "evidence; audited as pci_assessment.recorded. Staff only, from the admin."),
    handler=_pci_services.pci_assessment_run, scope="compliance:write",
    permission="compliance.add_pciassessment", output=PciAssessmentSerializer, read_only=False,
    success_status=201, doors=frozenset({"admin"}), tags=PCI_TAGS,
))
