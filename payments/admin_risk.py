"""Staff pages for risk: the score thresholds (saved through their service), a payment's explanation, and
the fraud model's training runs (started by "Train a candidate now", an operation call)."""

from django.contrib import admin
from django.utils.html import format_html, format_html_join

from core.admin_add import OperationAddMixin, operation_create
from core.admin_base import ReadOnlyAdmin

from .models import FraudTrainingRun, RiskRule, RiskThresholds
from .risk.thresholds import risk_thresholds_save


def explanation_html(payment) -> str:
    items = payment.risk_explanation or []
    if not items:
        return "-"
    # The number is formatted before format_html escapes it (a format spec on an escaped string fails,
    # and the admin shows a failing display as "-").
    rows = format_html_join("", "<li>{} <small>({}, {})</small></li>",
                            ((i.get("text", ""), i.get("feature", ""), f"{float(i.get('contribution') or 0):+.3f}")
                             for i in items))
    fired = ", ".join(payment.risk_rules_fired or []) or "none"
    return format_html("<ul>{}</ul><div>Rules fired: {}</div>", rows, fired)


@admin.register(RiskThresholds)
class RiskThresholdsAdmin(admin.ModelAdmin):
    """One row: scores at or above `review_at` are held for review, at or above `block_at` blocked."""

    fields = ("review_at", "block_at", "updated", "updated_by")
    readonly_fields = ("updated", "updated_by")
    list_display = ("__str__", "updated", "updated_by")

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not RiskThresholds.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        from django.contrib import messages

        from core.context import Actor
        from core.errors import DomainError

        try:
            risk_thresholds_save(actor=Actor.for_user(request.user), review_at=obj.review_at, block_at=obj.block_at)
        except DomainError as exc:
            self.message_user(request, f"Not saved: {exc.code}: {exc.message} {exc.details}", messages.ERROR)


@admin.register(RiskRule)
class RiskRuleAdmin(admin.ModelAdmin):
    """Rules beside the model; saved through `risk_rule_save` (the condition is checked, the change audited)."""

    list_display = ("name", "kind", "action", "condition", "field", "enabled", "updated")
    list_filter = ("kind", "action", "enabled")
    fields = ("name", "kind", "action", "condition", "field", "values", "enabled")

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        from django.contrib import messages

        from core.context import Actor
        from core.errors import DomainError

        from .risk.rules import risk_rule_save

        try:
            risk_rule_save(actor=Actor.for_user(request.user), rule=obj)
        except DomainError as exc:
            self.message_user(request, f"Not saved: {exc.code}: {exc.details}", messages.ERROR)


@admin.register(FraudTrainingRun)
class FraudTrainingRunAdmin(OperationAddMixin, ReadOnlyAdmin):
    """Each retraining (weekly job or staff): progress and log while it runs, then the candidate and the
    promotion rule's verdict. The add page is "Train a candidate now" (the train_fraud_model operation)."""

    operation_add = operation_create("train_fraud_model", label="Train a candidate now")
    list_display = ("id", "status", "progress", "trigger", "model", "promoted", "labelled_rows", "simulated_rows",
                    "created", "finished_at")
    list_filter = ("status", "trigger")
    fields = ("id", "status", "progress", "trigger", "log_text", "stored_rows", "labelled_rows", "simulated_rows",
              "model", "promoted", "reason", "actor_label", "created", "finished_at")
    readonly_fields = fields

    @admin.display(description="Log")
    def log_text(self, obj):
        return format_html("<ol>{}</ol>", format_html_join("", "<li><small>{}</small> {}</li>",
                                                           ((line.get("at", ""), line.get("step", ""))
                                                            for line in obj.log or [])))
