from celery import shared_task

PURGE_TASK_NAME = "monitoring.purge_request_logs"


@shared_task(name=PURGE_TASK_NAME)
def purge_request_logs() -> int:
    """Deletes request log rows older than REQUEST_LOG_RETENTION_DAYS (daily, from beat); returns how many."""
    from .requestlog import request_log_purge

    return request_log_purge()
