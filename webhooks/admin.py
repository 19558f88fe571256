"""Webhook endpoints in the admin: every write is an operation call (core.admin_ops), the same as REST;
the add page calls `create_webhook_endpoint` and shows the new secret once."""

import secrets

from django.contrib import admin, messages
from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from core.admin_base import ReadOnlyAdmin, ReadOnlyInline
from core.admin_ops import (
    OperationActionsMixin,
    form_arguments,
    form_class_for,
    operation_action,
    staff_description,
)
from core.context import Actor
from core.errors import DomainError
from core.operations import invoke

from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

ID = "endpoint_id"
CREATE = operation_action("create_webhook_endpoint", label="Add webhook endpoint", id_field=ID, shown=("secret",))


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
class WebhookEndpointAdmin(OperationActionsMixin, ReadOnlyAdmin):
    list_display = ("id", "url", "enabled", "enabled_events", "failing_since", "created")
    list_filter = ("enabled",)
    search_fields = ("=id", "url", "description")
    exclude = ("secret", "previous_secret")
    inlines = [AttemptInline]
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

    def has_add_permission(self, request, obj=None):
        return request.user.has_perm(CREATE.op.permission)

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise DjangoPermissionDenied
        form_class = form_class_for(CREATE)
        form = form_class(request.POST or None)
        token = request.POST.get("_token") or secrets.token_urlsafe(16)
        if request.method == "POST" and form.is_valid():
            try:
                result = invoke(CREATE.op, actor=Actor.for_user(request.user),
                                data=form_arguments(CREATE, form), idempotency_key=f"admin:{token}:create")
            except DomainError as exc:
                form.add_error(None, f"{exc.message} ({exc.code})")
            else:
                body = result.body
                self.message_user(request, f"Signing secret (shown only now): {body['secret']}", messages.WARNING)
                return HttpResponseRedirect(reverse("admin:webhooks_webhookendpoint_change", args=[quote(body["id"])],
                                                    current_app=self.admin_site.name))
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "form": form, "token": token,
                   "title": CREATE.label, "description": staff_description(CREATE.op)}
        return TemplateResponse(request, "admin/webhooks/add_endpoint.html", context)


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
