"""Staff pages of the model registry: every trained model with its metrics; promote (by the promotion
rule), roll back and retire, each through the registry's audited services."""

from django.contrib import admin
from django.utils.html import format_html

from .admin_base import ReadOnlyAdmin, run_for_each
from .ml import registry
from .models import MLModel


@admin.register(MLModel)
class MLModelAdmin(ReadOnlyAdmin):
    list_display = ("version", "name", "status", "auprc", "roc_auc", "rules_auprc", "quality", "activated_at",
                    "created")
    list_filter = ("name", "status")
    search_fields = ("=id", "version")
    exclude = ("artifact",)
    actions = ["promote", "rollback", "retire"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("artifact")

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in MLModel._meta.fields if f.name != "artifact"] + ["quality"]

    @admin.display(description="AUPRC")
    def auprc(self, obj):
        return (obj.metrics or {}).get("auprc")

    @admin.display(description="ROC-AUC")
    def roc_auc(self, obj):
        return (obj.metrics or {}).get("roc_auc")

    @admin.display(description="Rules AUPRC")
    def rules_auprc(self, obj):
        return ((obj.metrics or {}).get("rules_baseline") or {}).get("auprc")

    @admin.display(description="Quality")
    def quality(self, obj):
        if registry.below_chance(obj):
            return format_html('<strong style="color:#b00">{}</strong>',
                               "Worse than chance (ROC-AUC at most 0.5): never used")
        return "ok" if obj.metrics else "no held-out metrics"

    def has_promote_permission(self, request):
        return request.user.has_perm("core.change_mlmodel")

    has_rollback_permission = has_retire_permission = has_promote_permission

    @admin.action(description="Promote (by the promotion rule)", permissions=["promote"])
    def promote(self, request, queryset):
        def call(actor, model):
            _, promoted, reason = registry.model_promote(actor=actor, model_id=model.pk)
            self.message_user(request, f"{model.version}: {'promoted' if promoted else 'kept a candidate'}: {reason}")

        run_for_each(self, request, queryset, "Promotion rule applied", call)

    @admin.action(description="Roll back to the previously active model", permissions=["rollback"])
    def rollback(self, request, queryset):
        names = sorted({m.name for m in queryset})
        run_for_each(self, request, names, "Rolled back", lambda actor, name: registry.model_rollback(
            actor=actor, name=name))

    @admin.action(description="Retire", permissions=["retire"])
    def retire(self, request, queryset):
        run_for_each(self, request, queryset, "Retired", lambda actor, m: registry.model_retire(
            actor=actor, model_id=m.pk))
