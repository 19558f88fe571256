"""The webhooks' alert source (monitoring.alerts.register_source): an endpoint disabled after failing for the
whole retry window. Monitoring cannot import webhooks, so webhooks registers this from its AppConfig.ready()."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Q

from core import clock

from .models import WebhookDelivery, WebhookEndpoint

SOURCE = "webhook_endpoint_disabled"


def disabled_endpoints(now: dt.datetime) -> list[dict[str, Any]]:
    """One finding per endpoint disabled automatically (a reason is recorded; a staff member's switch-off is
    not an incident). Re-enabling it recovers the condition. Findings as plain dicts (the fields of
    monitoring.alerts.Finding): webhooks does not import monitoring."""
    endpoints = (WebhookEndpoint.objects.filter(enabled=False).exclude(disabled_reason="")
                 .annotate(pending=Count("deliveries", filter=Q(deliveries__status=WebhookDelivery.Status.PENDING)),
                           failed=Count("deliveries", filter=Q(deliveries__status=WebhookDelivery.Status.FAILED)))
                 .order_by("created", "pk"))
    found: list[dict[str, Any]] = []
    for endpoint in endpoints:
        affected = endpoint.pending + endpoint.failed
        found.append(dict(
            subject=endpoint.pk, title=f"Webhook endpoint {endpoint.pk} disabled",
            reason=(f"{endpoint.url} was disabled at {clock.isoformat(endpoint.updated)}: {endpoint.disabled_reason}. "
                    f"{endpoint.failed} deliveries failed, {endpoint.pending} wait; "
                    f"re-enable it to resume (and replay what it missed)."),
            measure="an endpoint receiving nothing", min_severity="medium", volume=affected,
            volume_label="deliveries failed or waiting",
            details={"endpoint_id": endpoint.pk, "url": endpoint.url, "disabled_reason": endpoint.disabled_reason,
                     "failing_since": clock.isoformat(endpoint.failing_since) if endpoint.failing_since else None}))
    return found
