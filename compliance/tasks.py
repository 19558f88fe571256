"""Celery tasks of compliance (the outbox sends them by name; beat rows in the migrations)."""

from celery import shared_task

from core.context import Actor

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
