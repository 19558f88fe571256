"""Celery tasks: thin adapters (beat rows from migration 0001_audit_chain)."""

from celery import shared_task

from core.context import Actor

# --- Audit chain: sealing, nightly verification, retention ----------------------------------------
SEAL_TASK = "compliance.seal_audit"
VERIFY_TASK = "compliance.verify_audit_chain"
ARCHIVE_TASK = "compliance.archive_audit"


@shared_task(name=SEAL_TASK)
def seal_audit() -> int:
    """Every minute: seals the audit events whose transactions have ended; returns how many."""
    from .chain import seal_pending

    return seal_pending()


@shared_task(name=VERIFY_TASK)
def verify_audit_chain() -> dict:
    """Nightly: recomputes the chain across archives and table and records the result."""
    from .checks import chain_check_record

    check = chain_check_record(include_archives=True)
    return {"intact": check.intact, "count": check.count, "first_broken_event_id": check.first_broken_event_id,
            "reason": check.reason}


@shared_task(name=ARCHIVE_TASK)
def archive_audit() -> dict:
    """Daily: moves sealed events past AUDIT_ARCHIVE_AFTER_DAYS to archive files, then deletes archive
    files past AUDIT_RETENTION_DAYS."""
    from core.context import Actor

    from .archive import archive_due, purge_expired_archives

    actor = Actor.for_task(ARCHIVE_TASK)
    return {"archived": archive_due(actor=actor), "purged": purge_expired_archives(actor=actor)}




# --- exports ---------------------------------------------------------------------------------------
EXPORT_TASK_NAME = "compliance.run_export"
PURGE_EXPORTS_TASK_NAME = "compliance.purge_expired_exports"


@shared_task(name=EXPORT_TASK_NAME)
def run_export(export_id: str) -> str:
    """Writes one requested export's file (queued by export_compliance_data); returns its status. A
    failure is recorded on the export and re-raised."""
    from .services import compliance_export_run

    return compliance_export_run(actor=Actor.for_task(EXPORT_TASK_NAME), export_id=export_id).status


@shared_task(name=PURGE_EXPORTS_TASK_NAME)
def purge_expired_exports() -> int:
    """Deletes the files of exports past their 24 hours, and fails exports whose worker was lost (beat,
    hourly); returns how many files were deleted."""
    from .services import compliance_export_fail_interrupted, compliance_export_purge_expired

    actor = Actor.for_task(PURGE_EXPORTS_TASK_NAME)
    compliance_export_fail_interrupted(actor=actor)
    return compliance_export_purge_expired(actor=actor)
