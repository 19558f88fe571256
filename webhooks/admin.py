"""Webhook endpoints in the admin: every write is an operation call (core.admin_ops), the same as REST;
the add page calls `create_webhook_endpoint` and shows the new secret once."""

from django.contrib import admin

from core.admin_add import OperationAddMixin, operation_create
from core.admin_base import ReadOnlyAdmin, ReadOnlyInline
from core.admin_ops import OperationActionsMixin, operation_action

from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

ID = "endpoint_id"


class AttemptInline(ReadOnlyInline):
    model = WebhookAttempt
    fk_name = "endpoint"
    fields = ("created", "event", "delivery", "number", "status_code", "succeeded", "latency_ms", "error",
              "next_retry_at", "response_body")
    ordering = ("-created",)
    max_num = 0
    verbose_name_plural = "Delivery log"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("event", "delivery")


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(OperationAddMixin, OperationActionsMixin, ReadOnlyAdmin):
    list_display = ("id", "url", "enabled", "enabled_events", "failing_since", "created")
    list_filter = ("enabled",)
    search_fields = ("=id", "url", "description")
    exclude = ("secret", "previous_secret")
    inlines = [AttemptInline]
    operation_add = operation_create("create_webhook_endpoint", label="Add webhook endpoint",
                                     shown={"secret": "Signing secret"})
    operation_actions = (
        operation_action("update_webhook_endpoint", label="Edit", id_field=ID, name="edit_webhook_endpoint"),
        operation_action("update_webhook_endpoint", label="Disable", id_field=ID, fixed={"enabled": False},
                         name="disable_webhook_endpoint"),
        operation_action("update_webhook_endpoint", label="Enable", id_field=ID, fixed={"enabled": True},
                         name="enable_webhook_endpoint"),
        operation_action("rotate_webhook_secret", label="Rotate secret", id_field=ID, shown=("secret",)),
        operation_action("send_test_webhook", label="Send test event", id_field=ID),
        operation_action("replay_webhook_events", label="Replay events", id_field=ID),
        operation_action("delete_webhook_endpoint", label="Delete", id_field=ID),
    )


class DeliveryAttemptInline(ReadOnlyInline):
    model = WebhookAttempt
    fk_name = "delivery"
    fields = ("number", "created", "status_code", "succeeded", "latency_ms", "error", "next_retry_at",
              "response_body")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("id", "endpoint", "event", "reason", "status", "attempts", "next_attempt_at", "created")
    list_filter = ("status", "reason")
    search_fields = ("=id", "=endpoint__id", "=event__id")
    list_select_related = ("endpoint", "event")
    exclude = ("token", "retry_message_id")
    inlines = [DeliveryAttemptInline]
