from celery import shared_task

from .services import DELIVER_TASK


@shared_task(name=DELIVER_TASK)
def deliver(delivery_id: str, token: str) -> bool | None:
    """One attempt of a webhook delivery (scheduled through the outbox; see webhooks.delivery)."""
    from .delivery import attempt_delivery

    return attempt_delivery(delivery_id, token)
