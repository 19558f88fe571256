"""The recorded run of the audit chain verification (nightly job)."""

from __future__ import annotations

import logging

from core import clock

from .chain import verify_chain_head
from .models import AuditChainCheck
from .signals import audit_chain_broken

logger = logging.getLogger("compliance.chain")


def chain_check_record(*, include_archives: bool = True) -> AuditChainCheck:
    """Verifies the chain and stores the result. Writes no audit event and emits no event (a check
    that wrote to the trail it checks would never see it quiet); a broken chain is logged at ERROR
    and signalled (`audit_chain_broken`)."""
    started = clock.now()
    report, head = verify_chain_head(include_archives=include_archives)
    check = AuditChainCheck.objects.create(
        started_at=started, finished_at=clock.now(), include_archives=include_archives, intact=report.intact,
        count=report.count, first_broken_event_id=report.first_broken_event_id, reason=report.reason,
        head_seq=head.seq if head else None, head_event_id=head.event_id if head else "",
        head_hash=head.hash if head else "")
    if not report.intact:
        logger.error("audit chain verification failed", extra={"report": report.as_dict(), "check": check.pk})
        audit_chain_broken.send(sender=AuditChainCheck, check=check)
    return check
