"""Webhook endpoint management (scope area: webhooks): REST and admin only, never MCP tools."""

from core.operations import Operation, register

from . import selectors, services
from .serializers import (
    AttemptListInput,
    AttemptSerializer,
    DeliverySerializer,
    EndpointCreateInput,
    EndpointIdInput,
    EndpointListInput,
    EndpointUpdateInput,
    RedeliverInput,
    ReplayInput,
    ReplaySerializer,
    WebhookEndpointSerializer,
    WebhookEndpointWithSecretSerializer,
)

DOORS = frozenset({"rest", "admin"})
TAGS = ("webhooks",)
URL_ERRORS = "invalid_webhook_url, webhook_target_refused, unknown_event_type, events_not_readable"


def _get(*, actor, endpoint_id):
    return services.webhook_endpoint_get(endpoint_id=endpoint_id)


def _list(*, actor, **filters):
    return selectors.webhook_endpoint_list(**filters)


def _attempts(*, actor, **filters):
    return selectors.webhook_attempt_list(**filters)


register(Operation(
    name="create_webhook_endpoint", title="Create webhook endpoint",
    description=("Creates an endpoint (we_) that receives the events of enabled_events (default [\"*\"]) as signed "
                 "POSTs (Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature). The answer's `secret` "
                 "(whsec_...) is shown only once. Errors: validation_error, " + URL_ERRORS + "."),
    handler=services.webhook_endpoint_create, scope="webhooks:write", permission="webhooks.add_webhookendpoint",
    input=EndpointCreateInput, output=WebhookEndpointWithSecretSerializer, read_only=False, success_status=201,
    doors=DOORS, tags=TAGS,
))
register(Operation(
    name="list_webhook_endpoints", title="List webhook endpoints",
    description="Lists webhook endpoints newest first; page with limit (max 100) and cursor.",
    handler=_list, scope="webhooks:read", permission="webhooks.view_webhookendpoint", input=EndpointListInput,
    output=WebhookEndpointSerializer, many=True, doors=DOORS, tags=TAGS,
))
register(Operation(
    name="get_webhook_endpoint", title="Get webhook endpoint",
    description="Returns one webhook endpoint (never its secret). Errors: not_found.",
    handler=_get, scope="webhooks:read", permission="webhooks.view_webhookendpoint", input=EndpointIdInput,
    output=WebhookEndpointSerializer, doors=DOORS, tags=TAGS,
))
register(Operation(
    name="update_webhook_endpoint", title="Update webhook endpoint",
    description=("Changes url, enabled_events, description or enabled (true resumes an endpoint disabled after 3 "
                 "days of failures). Errors: not_found, validation_error, " + URL_ERRORS + "."),
    handler=services.webhook_endpoint_update, scope="webhooks:write", permission="webhooks.change_webhookendpoint",
    input=EndpointUpdateInput, output=WebhookEndpointSerializer, read_only=False, doors=DOORS, tags=TAGS,
    target="get_webhook_endpoint",
))
register(Operation(
    name="delete_webhook_endpoint", title="Delete webhook endpoint",
    description="Deletes the endpoint and its delivery log; nothing more is sent to it. Errors: not_found.",
    handler=services.webhook_endpoint_delete, scope="webhooks:write", permission="webhooks.delete_webhookendpoint",
    input=EndpointIdInput, read_only=False, destructive=True, doors=DOORS, tags=TAGS, target="get_webhook_endpoint",
))
register(Operation(
    name="rotate_webhook_secret", title="Rotate webhook secret",
    description=("Gives the endpoint a new signing secret, returned once in `secret`; the old one keeps signing "
                 "too (a second signature) for 24 hours. Errors: not_found."),
    handler=services.webhook_endpoint_rotate_secret, scope="webhooks:write",
    permission="webhooks.change_webhookendpoint", input=EndpointIdInput,
    output=WebhookEndpointWithSecretSerializer, read_only=False, doors=DOORS, tags=TAGS,
    target="get_webhook_endpoint",
))
register(Operation(
    name="send_test_webhook", title="Send test event",
    description=("Sends a webhook_endpoint.test event (the endpoint as its object) to this endpoint only; returns "
                 "the delivery. Errors: not_found."),
    handler=services.webhook_endpoint_test, scope="webhooks:write", permission="webhooks.change_webhookendpoint",
    input=EndpointIdInput, output=DeliverySerializer, read_only=False, success_status=201, doors=DOORS, tags=TAGS,
    target="get_webhook_endpoint",
))
register(Operation(
    name="replay_webhook_events", title="Replay events to endpoint",
    description=("Sends again every event created in [created_gte, created_lte] that the endpoint receives (only "
                 "`types`, if given) and the caller may read, oldest first. Errors: not_found, validation_error, "
                 "replay_too_large (over 10,000 events)."),
    handler=services.webhook_endpoint_replay, scope="webhooks:write", permission="webhooks.change_webhookendpoint",
    input=ReplayInput, output=ReplaySerializer, read_only=False, doors=DOORS, tags=TAGS,
    target="get_webhook_endpoint",
))
register(Operation(
    name="list_webhook_deliveries", title="Webhook delivery log",
    description=("The endpoint's delivery attempts newest first: attempt number, status code, latency, the first "
                 "1 KB of the answer, next retry; event_id narrows to one event. Errors: not_found."),
    handler=_attempts, scope="webhooks:read", permission="webhooks.view_webhookendpoint", input=AttemptListInput,
    output=AttemptSerializer, many=True, doors=DOORS, tags=TAGS,
))
register(Operation(
    name="redeliver_event", title="Redeliver event",
    description="Sends one event again to one endpoint; returns the delivery. Errors: not_found.",
    handler=services.event_redeliver, scope="webhooks:write", permission="webhooks.change_webhookendpoint",
    input=RedeliverInput, output=DeliverySerializer, read_only=False, success_status=201, doors=DOORS, tags=TAGS,
))
