"""Alert operations (scope area monitoring): REST, MCP and the admin."""

from core.operations import Operation, register

from .alerts import selectors, services
from .serializers_alerts import (
    ActiveAlertsInput,
    ActiveAlertsSerializer,
    AlertAcknowledgeInput,
    AlertCreateInput,
    AlertIdInput,
    AlertListInput,
    AlertResolveInput,
    AlertSerializer,
)

TAGS = ("monitoring",)


def _get(*, actor, alert_id):
    return selectors.alert_get(alert_id=alert_id)


def _list(*, actor, **filters):
    return selectors.alert_list(**filters)


def _active(*, actor, **filters):
    return {"object": "list", "data": selectors.alert_active(**filters)}


register(Operation(
    name="create_alert", title="Create alert",
    description=("Raises an alert (alrt_) by hand: title, severity (low, medium, high, critical), reason, source "
                 "(default manual), details. With the dedup_key of an open or acknowledged alert it folds into that "
                 "alert (occurrence_count + 1, last_seen) and notifies nobody again; a new alert sends the "
                 "alert.created event and e-mails ALERTS_DEFAULT_RECIPIENTS. Errors: validation_error."),
    handler=services.alert_create, scope="monitoring:write", permission="monitoring.add_alert",
    input=AlertCreateInput, output=AlertSerializer, read_only=False, success_status=201, tags=TAGS,
))
register(Operation(
    name="list_alerts", title="List alerts",
    description=("Alerts newest first, filtered by status (open, acknowledged, resolved), severity and source; "
                 "page with limit (max 100) and cursor."),
    handler=_list, scope="monitoring:read", permission="monitoring.view_alert", input=AlertListInput,
    output=AlertSerializer, many=True, tags=TAGS,
))
register(Operation(
    name="get_active_alerts", title="Active alerts",
    description=("Open and acknowledged alerts, most severe first (then rank score, then latest seen), each with "
                 "why it fired (reason, with the numbers) and why it has its severity (rank_reason)."),
    handler=_active, scope="monitoring:read", permission="monitoring.view_alert", input=ActiveAlertsInput,
    output=ActiveAlertsSerializer, tags=TAGS,
))
register(Operation(
    name="get_alert", title="Get alert",
    description="One alert with its notes. Errors: not_found.",
    handler=_get, scope="monitoring:read", permission="monitoring.view_alert", input=AlertIdInput,
    output=AlertSerializer, tags=TAGS,
))
register(Operation(
    name="acknowledge_alert", title="Acknowledge alert",
    description=("Marks an open alert acknowledged (someone is on it), with an optional note; it still folds "
                 "duplicates and still resolves itself when its condition recovers. Errors: not_found, "
                 "alert_already_acknowledged, alert_already_resolved (409)."),
    handler=services.alert_acknowledge, scope="monitoring:write", permission="monitoring.acknowledge_alert",
    input=AlertAcknowledgeInput, output=AlertSerializer, read_only=False, tags=TAGS, target="get_alert",
))
register(Operation(
    name="resolve_alert", title="Resolve alert",
    description=("Resolves an open or acknowledged alert with a note (sends alert.resolved and the e-mail); the next "
                 "occurrence of its condition opens a new alert. Errors: not_found, alert_already_resolved (409), "
                 "validation_error (note missing)."),
    handler=services.alert_resolve, scope="monitoring:write", permission="monitoring.resolve_alert",
    input=AlertResolveInput, output=AlertSerializer, read_only=False, tags=TAGS, target="get_alert",
))
