"""Webhook endpoints receive alert.created and alert.resolved, with the alert as REST renders it."""

import pytest

from core.events import dispatch_pending
from monitoring.alerts.services import alert_raise, alert_resolve
from tests.monitoring.alertkit import STAFF
from webhooks.models import WebhookDelivery
from webhooks.services import webhook_endpoint_create

pytestmark = pytest.mark.django_db
PUBLIC = "https://93.184.216.34/hooks"  # an address literal: no DNS needed


def test_endpoints_get_a_delivery_for_created_and_resolved_but_none_for_a_fold(system_actor):
    endpoint = webhook_endpoint_create(actor=system_actor, url=PUBLIC,
                                       enabled_events=["alert.created", "alert.resolved"])
    alert = alert_raise(actor=STAFF, source="manual", dedup_key="k", severity="low", title="t", reason="r")
    alert_raise(actor=STAFF, source="manual", dedup_key="k", severity="low", title="t", reason="r again")
    alert_resolve(actor=STAFF, alert_id=alert.pk, note="ok")
    dispatch_pending()
    deliveries = WebhookDelivery.objects.filter(endpoint=endpoint).select_related("event").order_by("created", "pk")
    assert [d.event.type for d in deliveries] == ["alert.created", "alert.resolved"]
    created, resolved = (d.event.data for d in deliveries)
    assert (created["object"]["id"], created["object"]["status"], created["object"]["occurrence_count"]) == (
        alert.pk, "open", 1)
    assert (resolved["object"]["status"], resolved["previous_attributes"]["status"]) == ("resolved", "open")
    assert resolved["object"]["notes"][0]["text"] == "ok"
