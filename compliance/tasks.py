"""Celery tasks: thin adapters (beat rows from migration 0001_audit_chain)."""

from celery import shared_task

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
