"""Writes of the compliance app."""

from __future__ import annotations

from core.audit import audit_record
from core.context import Actor
from core.db import use_case
from core.models import stamp

from .audit import ComplianceAction
from .models import PciAssessment


# --- PCI self-assessment ---------------------------------------------------------------------------
@use_case
def pci_assessment_run(*, actor: Actor) -> PciAssessment:
    """Runs every PCI check and records the result (an audited write)."""
    from . import pci

    result = pci.run_assessment()
    checks = result["checks"]
    counts = {status: sum(1 for c in checks if c["status"] == status) for status in pci.STATUSES}
    assessment = PciAssessment(score=result["score"], checks=checks, passed=counts[pci.PASSED],
                               failed=counts[pci.FAILED], not_applicable=counts[pci.NOT_APPLICABLE],
                               created=result["assessed_at"])
    stamp(assessment, actor=actor)
    assessment.save(force_insert=True)
    audit_record(action=ComplianceAction.PCI_ASSESSMENT_RECORDED, actor=actor, obj=assessment,
                 details={"score": assessment.score, **counts,
                          "failed_checks": [c["id"] for c in checks if c["status"] == pci.FAILED]})
    return assessment
