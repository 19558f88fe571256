"""Demo compliance state, made by the real jobs: the seed's audit events sealed, those past
AUDIT_ARCHIVE_AFTER_DAYS moved to archive files, one chain verification and one PCI assessment
recorded, and one export requested (the worker writes its file). Idempotent."""

from __future__ import annotations

import datetime as dt

from core import clock
from core.context import Actor

from .archive import archive_due
from .chain import seal_pending
from .checks import chain_check_record
from .models import AuditChainCheck, ComplianceExport, PciAssessment
from .services import compliance_export_create, pci_assessment_run


def seed(*, rng, stdout) -> None:
    actor = Actor.system("seed_demo")
    sealed = seal_pending()
    archived = archive_due(actor=actor)
    if not AuditChainCheck.objects.exists():
        check = chain_check_record(include_archives=True)
        stdout.write(f"  audit chain: {check.count} events verified, {'intact' if check.intact else 'BROKEN'}")
    if not PciAssessment.objects.exists():
        assessment = pci_assessment_run(actor=actor)
        stdout.write(f"  PCI self-assessment recorded: score {assessment.score}")
    if not ComplianceExport.objects.exists():
        today = clock.now().date()
        compliance_export_create(actor=actor, kind="payments", format="csv", period_from=today - dt.timedelta(days=30),
                                 period_to=today)
    stdout.write(f"  audit events sealed: {sealed}, archived: {archived}")
