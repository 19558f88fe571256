"""Celery tasks of subscriptions: thin, scheduled by django-celery-beat rows (migration 0002)."""

from celery import shared_task

from core.context import Actor

BILLING_TASK_NAME = "subscriptions.run_billing_cycle"
CHURN_TASK_NAME = "subscriptions.train_churn_model"


@shared_task(name=BILLING_TASK_NAME)
def run_billing_cycle() -> str:
    """One billing cycle (expire incomplete, renew, collect and dunning retries); returns the run id."""
    from .services import billing_run

    return billing_run(actor=Actor.for_task(BILLING_TASK_NAME), triggered_by="celery beat").id


@shared_task(name="subscriptions.send_notification", autoretry_for=(OSError,), retry_backoff=30,
             retry_backoff_max=3600, max_retries=12)
def send_notification(notification_id: int) -> int:
    """Sends a recorded customer e-mail once (the outbox hands it over after the deciding commit);
    a mail server that is down is retried with backoff."""
    from .services.notifications import _send_one

    return _send_one(notification_id)


@shared_task(name=CHURN_TASK_NAME)
def train_churn_model() -> str:
    from .churn import train

    result = train(actor=Actor.for_task(CHURN_TASK_NAME))
    return f"{result.version} ({result.status})" if result else "not enough history"


CHURN_SCORES_TASK_NAME = "subscriptions.score_churn"


@shared_task(name=CHURN_SCORES_TASK_NAME, ignore_result=True)
def score_churn() -> int:
    """Hourly: every paying subscription scored by the active churn model, the scores stored for the at-risk
    lists."""
    from .churn import score_paying

    return score_paying()


MRR_MONTHS_TASK_NAME = "subscriptions.refresh_mrr_months"


@shared_task(name=MRR_MONTHS_TASK_NAME, ignore_result=True)
def refresh_mrr_months() -> dict:
    """Every five minutes: the closed months' MRR movements stored again (a new month, or an event recorded with
    a past time)."""
    from dataclasses import asdict

    from .mrr_rollup import mrr_months_refresh

    return asdict(mrr_months_refresh())
