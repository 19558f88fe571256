from core.rest import api_path, operation_view

EID = {"endpoint_id": "endpoint_id"}

EndpointsView = operation_view("WebhookEndpointsView", post="create_webhook_endpoint", get="list_webhook_endpoints")
EndpointView = operation_view("WebhookEndpointView", path_params=EID, get="get_webhook_endpoint",
                              post="update_webhook_endpoint", delete="delete_webhook_endpoint")
RotateView = operation_view("WebhookRotateSecretView", path_params=EID, post="rotate_webhook_secret")
TestView = operation_view("WebhookTestView", path_params=EID, post="send_test_webhook")
ReplayView = operation_view("WebhookReplayView", path_params=EID, post="replay_webhook_events")
DeliveriesView = operation_view("WebhookDeliveriesView", path_params=EID, get="list_webhook_deliveries")
RedeliverView = operation_view("EventRedeliverView", path_params={"event_id": "event_id"}, post="redeliver_event")

urlpatterns = [
    *api_path("webhook-endpoints", EndpointsView, "webhook-endpoints"),
    *api_path("webhook-endpoints/<str:endpoint_id>", EndpointView, "webhook-endpoint"),
    *api_path("webhook-endpoints/<str:endpoint_id>/rotate-secret", RotateView, "webhook-endpoint-rotate-secret"),
    *api_path("webhook-endpoints/<str:endpoint_id>/test", TestView, "webhook-endpoint-test"),
    *api_path("webhook-endpoints/<str:endpoint_id>/replay", ReplayView, "webhook-endpoint-replay"),
    *api_path("webhook-endpoints/<str:endpoint_id>/deliveries", DeliveriesView, "webhook-endpoint-deliveries"),
    *api_path("events/<str:event_id>/redeliver", RedeliverView, "event-redeliver"),
]
