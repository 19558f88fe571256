from core.pagination import Page, filter_present, paginate

from .models import WebhookAttempt, WebhookEndpoint
from .services import webhook_endpoint_get


def webhook_endpoint_list(*, limit: int = 20, cursor: str | None = None) -> Page:
    return paginate(WebhookEndpoint.objects.all(), limit=limit, cursor=cursor)


def webhook_attempt_list(*, endpoint_id: str, event_id: str | None = None, limit: int = 20,
                         cursor: str | None = None) -> Page:
    endpoint = webhook_endpoint_get(endpoint_id=endpoint_id)
    queryset = filter_present(WebhookAttempt.objects.filter(endpoint=endpoint).select_related("event"),
                              event_id=event_id)
    return paginate(queryset, limit=limit, cursor=cursor)
