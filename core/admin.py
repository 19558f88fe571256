"""Staff pages of core: the model registry (every trained model with its metrics; promote by the promotion
rule, roll back and retire, each through the registry's audited services) and the events."""

import json
from typing import Any

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html

from .admin_base import IndexedValuesFilter, LargeTableAdminMixin, ReadOnlyAdmin, clipped_display
from .admin_ops import OperationActionsMixin, operation_action
from .ml import registry
from .models import Event, MLModel
from .operations import get_operation


@admin.register(MLModel)
class MLModelAdmin(OperationActionsMixin, ReadOnlyAdmin):
    list_display = ("version", "name", "status", "auprc", "roc_auc", "rules_auprc", "quality", "activated_at",
                    "created")
    list_filter = ("name", "status")
    search_fields = ("=id", "version")
    exclude = ("artifact",)
    change_list_template = "admin/core/mlmodel/change_list.html"
    operation_actions = (
        operation_action("promote_model", label="Promote (by the promotion rule)", id_field="model_id"),
        operation_action("rollback_model", label="Roll back to the previously active model", id_field="model_id"),
        operation_action("retire_model", label="Retire", id_field="model_id"),
    )

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        # "Train a candidate now" for each retrainable model the staff member may train.
        buttons = []
        for name, (operation, url_name) in sorted(registry.trainers().items()):
            permission = get_operation(operation).permission
            if permission is None or request.user.has_perm(permission):
                buttons.append({"url": reverse(url_name), "label": f"Train a {name} candidate now"})
        return super().changelist_view(request, {**(extra_context or {}), "train_buttons": buttons})

    def get_queryset(self, request: HttpRequest) -> QuerySet[MLModel]:
        return super().get_queryset(request).defer("artifact")

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> list[str]:
        return [f.name for f in MLModel._meta.fields if f.name != "artifact"] + ["quality"]

    @admin.display(description="AUPRC")
    def auprc(self, obj: MLModel) -> Any:  # a value of the stored metrics JSON
        return (obj.metrics or {}).get("auprc")

    @admin.display(description="ROC-AUC")
    def roc_auc(self, obj: MLModel) -> Any:  # a value of the stored metrics JSON
        return (obj.metrics or {}).get("roc_auc")

    @admin.display(description="Rules AUPRC")
    def rules_auprc(self, obj: MLModel) -> Any:  # a value of the stored metrics JSON
        return ((obj.metrics or {}).get("rules_baseline") or {}).get("auprc")

    @admin.display(description="Quality")
    def quality(self, obj: MLModel) -> str:
        if registry.below_chance(obj):
            return format_html('<strong class="bo-warning">{}</strong>',
                               "Worse than chance (ROC-AUC at most 0.5): never used")
        return "ok" if obj.metrics else "no held-out metrics"


@admin.register(Event)
class EventAdmin(LargeTableAdminMixin, ReadOnlyAdmin):
    """What integrators were told, as they were told it (`data` is the object as REST rendered it then);
    whether the relay has handed it to the webhook endpoints yet. Events are immutable."""

    actor_label_clipped = clipped_display("actor_label", "Actor")
    list_display = ("id", "type", "object_id", "created", "actor_label_clipped", "dispatched_at")
    list_filter = (("type", IndexedValuesFilter),)
    search_fields = ("=id", "=object_id", "=request_id")
    # No date_hierarchy: its year and month lists scan millions of events.
    fields = ("id", "type", "created", "object_type", "object_id", "payload", "request_id", "actor_type",
              "actor_id", "actor_label", "dispatched_at")
    readonly_fields = fields

    @admin.display(description="Data")
    def payload(self, obj: Event) -> str:
        return format_html("<pre class=\"bo-json\">{}</pre>", json.dumps(obj.data, indent=2, sort_keys=True))
