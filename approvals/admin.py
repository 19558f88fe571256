from django import forms
from django.contrib import admin, messages

from core.admin_base import MoneyAdminMixin, ReadOnlyAdmin, money_text
from core.admin_ops import OperationActionsMixin, operation_action
from core.context import Actor
from core.errors import DomainError
from core.forms import AmountField, CurrencyChoiceField, MoneyFormMixin
from core.money import format_amount
from core.operations import all_operations

from . import services
from .models import ApprovalRequest, ApprovalThreshold
from .selectors import effective_status


class ThresholdForm(MoneyFormMixin, forms.ModelForm):
    operation = forms.ChoiceField(choices=())
    currency = CurrencyChoiceField()
    amount = AmountField(allow_zero=True, currency_field="currency", label="Amount",
                         help_text='In major units of the currency, e.g. "500.00". Calls strictly above it wait '
                                   "for approval.")

    class Meta:
        model = ApprovalThreshold
        fields = ("api_key", "operation", "currency", "amount")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        operation = self.fields["operation"]
        assert isinstance(operation, forms.ChoiceField)  # the model field has choices
        operation.choices = [(op.name, op.name) for op in all_operations() if op.approvable]


@admin.register(ApprovalThreshold)
class ApprovalThresholdAdmin(MoneyAdminMixin, admin.ModelAdmin):
    form = ThresholdForm
    fields = ("api_key", "operation", ("amount", "currency"))
    list_display = ("operation", "currency", "amount", "api_key", "updated")
    list_filter = ("operation", "currency")
    list_select_related = ("api_key",)
    raw_id_fields = ("api_key",)
    money_fields = ("amount",)

    def save_model(self, request, obj, form, change):
        actor = Actor.for_user(request.user)
        data = form.cleaned_data
        # The service takes the amount as the API does: a decimal string in the currency.
        amount = format_amount(data["amount"], data["currency"])
        try:
            saved = services.threshold_save(
                actor=actor, threshold=obj if change else None, api_key=data.get("api_key"),
                operation=data["operation"], currency=data["currency"], amount=amount)
        except DomainError as exc:
            # The form already passed; report the service's refusal instead of a crash.
            self.message_user(request, f"Not saved: {exc.message} {exc.details}", messages.ERROR)
            return
        # The admin's "... was added" message names this object: it shows what was saved.
        obj.pk, obj.amount, obj.currency, obj.operation = saved.pk, saved.amount, saved.currency, saved.operation

    def delete_model(self, request, obj):
        actor = Actor.for_user(request.user)
        services.threshold_delete(actor=actor, threshold=obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(OperationActionsMixin, MoneyAdminMixin, ReadOnlyAdmin):
    """Calls held above a threshold. Another staff member than the key's owner, with a
    verified second factor, approves (the call then runs as the key) or rejects: both are
    operations, previewed before they are confirmed."""

    list_display = ("id", "operation", "amount", "status_now", "api_key", "requested_at", "expires_at",
                    "decided_by")
    money_fields = ("amount",)
    list_filter = ("status", "operation")
    search_fields = ("=id", "=api_key__prefix", "=idempotency_key")
    list_select_related = ("api_key", "decided_by")
    readonly_fields = [f.name for f in ApprovalRequest._meta.fields]
    operation_actions = (
        operation_action("approve_approval_request", label="Approve and run", id_field="approval_id",
                         name="approve"),
        operation_action("reject_approval_request", label="Reject", id_field="approval_id", name="reject"),
    )

    @admin.display(description="Amount", ordering="amount")
    def amount_money(self, obj):
        # No amount in the call: it takes the whole remainder (a full refund or capture).
        return money_text(obj.amount, obj.currency) if obj.amount is not None else "whole remainder"

    @admin.display(description="Status")
    def status_now(self, obj):
        return effective_status(obj)

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) or request.user.has_perm(services.DECIDE_PERMISSION)
