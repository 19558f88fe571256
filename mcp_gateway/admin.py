from django import forms
from django.contrib import admin, messages

from core.admin_base import ReadOnlyAdmin
from core.context import Actor
from core.db import run_in_transaction
from core.errors import DomainError
from core.money import CURRENCY_CHOICES, format_amount, parse_amount
from core.operations import all_operations

from . import services
from .models import ApprovalRequest, ApprovalThreshold, ToolCall
from .selectors import effective_status


@admin.register(ToolCall)
class ToolCallAdmin(ReadOnlyAdmin):
    """The audit of every MCP tool call (arguments stored redacted). Append-only."""

    list_display = ("created", "tool", "outcome", "error_code", "key_prefix", "duration_ms", "dry_run",
                    "protocol_version")
    list_filter = ("outcome", "dry_run", "protocol_version")
    search_fields = ("=id", "=tool", "=request_id", "=approval_id", "=api_key__prefix", "=error_code")
    list_select_related = ("api_key",)
    date_hierarchy = "created"

    @admin.display(description="API key")
    def key_prefix(self, obj):
        return obj.api_key.prefix if obj.api_key else "-"


class ThresholdForm(forms.ModelForm):
    operation = forms.ChoiceField(choices=())
    currency = forms.ChoiceField(choices=CURRENCY_CHOICES)
    # Not the model's `amount` (minor units): the service parses this with the currency.
    amount_major = forms.CharField(label="Amount", help_text='Major units, e.g. "500.00". Calls strictly above it '
                                   "wait for approval.")

    class Meta:
        model = ApprovalThreshold
        fields = ("api_key", "operation", "currency")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["operation"].choices = [(op.name, op.name) for op in all_operations() if op.approvable]
        if not self.instance._state.adding:  # public ids exist before the first save
            self.initial["amount_major"] = format_amount(self.instance.amount, self.instance.currency)

    def clean(self):
        data = super().clean()
        if data.get("amount_major") and data.get("currency"):
            try:
                parse_amount(data["amount_major"], data["currency"], allow_zero=True)
            except DomainError as exc:
                self.add_error("amount_major", exc.message)
        return data


@admin.register(ApprovalThreshold)
class ApprovalThresholdAdmin(admin.ModelAdmin):
    form = ThresholdForm
    list_display = ("operation", "currency", "amount_display", "api_key", "updated")
    list_filter = ("operation", "currency")
    list_select_related = ("api_key",)
    raw_id_fields = ("api_key",)

    @admin.display(description="Amount")
    def amount_display(self, obj):
        return format_amount(obj.amount, obj.currency)

    def save_model(self, request, obj, form, change):
        actor = Actor.for_user(request.user)
        data = form.cleaned_data
        try:
            saved = run_in_transaction(lambda: services.threshold_save(
                actor=actor, threshold=obj if change else None, api_key=data.get("api_key"),
                operation=data["operation"], currency=data["currency"], amount=data["amount_major"]))
        except DomainError as exc:
            # The form already passed; report the service's refusal instead of a crash.
            self.message_user(request, f"Not saved: {exc.message} {exc.details}", messages.ERROR)
            return
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        actor = Actor.for_user(request.user)
        run_in_transaction(lambda: services.threshold_delete(actor=actor, threshold=obj))

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(ReadOnlyAdmin):
    """Calls held above a threshold. Another staff member than the key's owner, with a
    verified second factor, approves (the call then runs as the key) or rejects."""

    list_display = ("id", "operation", "amount_display", "status_now", "api_key", "requested_at", "expires_at",
                    "decided_by")
    list_filter = ("status", "operation")
    search_fields = ("=id", "=api_key__prefix", "=idempotency_key")
    list_select_related = ("api_key", "decided_by")
    readonly_fields = [f.name for f in ApprovalRequest._meta.fields]
    actions = ["approve", "reject"]

    @admin.display(description="Amount")
    def amount_display(self, obj):
        return format_amount(obj.amount, obj.currency) + f" {obj.currency}" if obj.amount is not None else "whole"

    @admin.display(description="Status")
    def status_now(self, obj):
        return effective_status(obj)

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) or self.has_decide_permission(request)

    def has_decide_permission(self, request):
        return request.user.has_perm("mcp_gateway.decide_approvalrequest")

    def _decide(self, request, queryset, service, verb):
        actor = Actor.for_user(request.user)
        verified = bool(getattr(request.user, "is_verified", lambda: False)())
        for approval in queryset:
            try:
                done = service(actor=actor, approval_id=approval.pk, second_factor_verified=verified)
            except DomainError as exc:
                self.message_user(request, f"{approval.pk}: {exc.message}", messages.ERROR)
                continue
            outcome = f" (result status {done.result_status})" if done.result_status else ""
            self.message_user(request, f"{approval.pk}: {verb}{outcome}.", messages.SUCCESS)

    @admin.action(description="Approve and run the selected calls", permissions=["decide"])
    def approve(self, request, queryset):
        self._decide(request, queryset, services.approval_approve, "approved")

    @admin.action(description="Reject the selected calls", permissions=["decide"])
    def reject(self, request, queryset):
        self._decide(request, queryset, services.approval_reject, "rejected")
