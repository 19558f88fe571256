"""What webhooks gives to /metrics (monitoring.prometheus reads it through register_series)."""

from __future__ import annotations

from django.db.models import Count

from .models import WebhookDelivery


def delivery_counts() -> list[tuple[dict[str, str], float]]:
    rows = WebhookDelivery.objects.values("status").annotate(n=Count("id")).order_by("status")
    return [({"status": row["status"]}, float(row["n"])) for row in rows]
