"""Alerts and alert rules in the admin. Alert writes are operation calls (core.admin_ops / admin_add): the
same validation, audit and idempotency as REST and MCP. Rules are settings rows: their model form saves
through `alert_rule_save` (params validated per kind, audited)."""

from __future__ import annotations

from django import forms
from django.contrib import admin

from core.admin_add import OperationAddMixin, operation_create
from core.admin_base import ReadOnlyAdmin, ReadOnlyInline
from core.admin_ops import OperationActionsMixin, operation_action
from core.context import Actor
from core.errors import ValidationFailed

from .alerts.services import alert_rule_save, alert_rule_validate
from .models.alerts import Alert, AlertNote, AlertRule

ID = "alert_id"


class AlertNoteInline(ReadOnlyInline):
    model = AlertNote
    fields = ("created", "actor_label", "text")
    max_num = 0
    verbose_name_plural = "Notes"


@admin.register(Alert)
class AlertAdmin(OperationAddMixin, OperationActionsMixin, ReadOnlyAdmin):
    list_display = ("id", "severity", "status", "title", "source", "occurrence_count", "rank_score", "first_seen",
                    "last_seen")
    list_filter = ("status", "severity", "source")
    search_fields = ("=id", "title", "dedup_key")
    list_select_related = ("rule",)
    inlines = [AlertNoteInline]
    exclude = ("created_notified_at", "resolved_notified_at")
    operation_add = operation_create("create_alert", label="Raise alert")
    operation_actions = (
        operation_action("acknowledge_alert", label="Acknowledge", id_field=ID,
                         when=lambda a: a.status == Alert.Status.OPEN),
        operation_action("resolve_alert", label="Resolve", id_field=ID,
                         when=lambda a: a.status != Alert.Status.RESOLVED),
    )


class AlertRuleForm(forms.ModelForm):
    class Meta:
        model = AlertRule
        fields = ("name", "kind", "enabled", "params", "route", "window_minutes", "recipients", "severity_floor",
                  "severity_override")

    def _post_clean(self) -> None:
        # The service's own checks, shown on the fields they name before anything is saved (save_model
        # then cannot be refused, so Django never reports a save that did not happen).
        super()._post_clean()  # type: ignore[misc]  # ModelForm._post_clean: Django's, not in the stubs
        try:
            alert_rule_validate(self.instance)
        except ValidationFailed as exc:
            for field, messages_ in exc.details.get("fields", {}).items():
                self.add_error(field if field in self.fields else None, messages_)


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    """Edited by staff; saved through `alert_rule_save` so each change is validated and audited."""

    form = AlertRuleForm
    list_display = ("name", "kind", "enabled", "route", "window_minutes", "severity_floor", "severity_override",
                    "last_evaluated_at", "last_error")
    list_filter = ("kind", "enabled")
    search_fields = ("name",)
    readonly_fields = ("last_evaluated_at", "last_error")

    def save_model(self, request, obj, form, change):
        alert_rule_save(actor=Actor.for_user(request.user), rule=obj)

    def has_delete_permission(self, request, obj=None):
        return False
