"""PCI checks of the audit trail itself: the chain is intact (10.3.2) and retention is configured and
running (10.5.1). Registered beside the others in `compliance.pci` (imported from `ready()`)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings

from core import clock
from core.models import AuditEvent

from .chain import verify_chain
from .models import AuditChainCheck
from .pci import FAILED, PASSED, CheckResult, pci_check
from .tasks import ARCHIVE_TASK, SEAL_TASK, VERIFY_TASK

# The sealer runs every minute: an event left unsealed this long means it is not running.
SEALER_LAG_LIMIT = dt.timedelta(minutes=15)
# The archiver runs daily: events this far past AUDIT_ARCHIVE_AFTER_DAYS mean it is not running.
ARCHIVER_LAG_LIMIT = dt.timedelta(days=2)
# PCI DSS 10.5.1: at least 12 months kept, the last 3 months immediately available.
MIN_RETENTION_DAYS = 365
MIN_ONLINE_DAYS = 90


@pci_check(id="audit_chain_intact", requirement="10.3.2",
           title="The audit trail is sealed, its hash chain intact and verified nightly")
def _audit_chain_intact() -> CheckResult:
    report = verify_chain()
    problems = []
    if not report.intact:
        problems.append(f"the chain is broken now: {report.reason} at {report.first_broken_event_id}")
    latest = AuditChainCheck.objects.order_by("-started_at").first()
    if latest is None:
        nightly = "no nightly verification recorded yet"
    else:
        nightly = (f"last nightly verification {clock.isoformat(latest.started_at)}: "
                   f"{'intact' if latest.intact else 'BROKEN'} over {latest.count} event(s)")
        if not latest.intact:
            problems.append(f"the last nightly verification found it broken ({latest.reason} at "
                            f"{latest.first_broken_event_id})")
    unsealed = AuditEvent.objects.filter(seq__isnull=True)
    oldest = unsealed.order_by("occurred_at").values_list("occurred_at", flat=True).first()
    lag = ""
    if oldest is not None:
        age = clock.now() - oldest
        lag = f"; oldest unsealed event {int(age.total_seconds() // 60)} min old"
        if age > SEALER_LAG_LIMIT:
            problems.append(f"events stay unsealed longer than {int(SEALER_LAG_LIMIT.total_seconds() // 60)} "
                            "min (is the seal_audit schedule running?)")
    evidence = (f"{report.count} sealed event(s) recomputed now: {'intact' if report.intact else 'broken'}; "
                f"{unsealed.count()} awaiting the sealer{lag}; {nightly}.")
    if problems:
        return CheckResult(FAILED, evidence + " Failed: " + "; ".join(problems) + ".")
    return CheckResult(PASSED, evidence)


@pci_check(id="audit_retention", requirement="10.5.1",
           title="Audit history is kept 12 months, the last 3 months in the database")
def _audit_retention() -> CheckResult:
    from django_celery_beat.models import PeriodicTask

    keep, online = settings.AUDIT_RETENTION_DAYS, settings.AUDIT_ARCHIVE_AFTER_DAYS
    problems = []
    if keep < MIN_RETENTION_DAYS:
        problems.append(f"AUDIT_RETENTION_DAYS={keep} is under {MIN_RETENTION_DAYS}")
    if online < MIN_ONLINE_DAYS:
        problems.append(f"AUDIT_ARCHIVE_AFTER_DAYS={online} is under {MIN_ONLINE_DAYS}")
    if keep < online:
        problems.append("archives would be deleted before events are archived")
    tasks = (SEAL_TASK, VERIFY_TASK, ARCHIVE_TASK)
    enabled = set(PeriodicTask.objects.filter(task__in=tasks, enabled=True).values_list("task", flat=True))
    missing = [t for t in tasks if t not in enabled]
    if missing:
        problems.append(f"no enabled schedule for {', '.join(missing)}")
    due = clock.now() - dt.timedelta(days=online) - ARCHIVER_LAG_LIMIT
    overdue = AuditEvent.objects.filter(occurred_at__lt=due).count()
    if overdue:
        problems.append(f"{overdue} event(s) older than {online} days + 2 are still in the table "
                        "(is the archive_audit schedule running?)")
    evidence = (f"AUDIT_RETENTION_DAYS={keep} (required: at least {MIN_RETENTION_DAYS}), "
                f"AUDIT_ARCHIVE_AFTER_DAYS={online} (required: at least {MIN_ONLINE_DAYS}); "
                f"enabled schedules: {', '.join(sorted(enabled)) or 'none'}.")
    if problems:
        return CheckResult(FAILED, evidence + " Failed: " + "; ".join(problems) + ".")
    return CheckResult(PASSED, evidence)
