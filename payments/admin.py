"""Staff pages for payments: thin. Every write on a payment, webhook event or mismatch is an
operation call (`operation_action`: the operation's form, permission, validation and audit);
settings rows (routing rules, fee schedules) save through their `<entity>_save` service."""

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html_join

from core.admin_base import (
    IndexedValuesFilter,
    LargeTableAdminMixin,
    MoneyAdminMixin,
    ReadOnlyAdmin,
    ReadOnlyInline,
    money_text,
)
from core.admin_ops import OperationActionsMixin, operation_action
from core.audit import AuditEvent
from core.context import Actor
from core.errors import DomainError
from core.forms import AmountField, MoneyFormMixin

from .models import (
    FeeSchedule,
    Payment,
    PaymentAttempt,
    ProviderStat,
    ReconciliationMismatch,
    Refund,
    RoutingRule,
    WebhookEvent,
)
from .services.lifecycle import CANCELABLE
from .services.settings import fee_schedule_save, routing_rule_save

_STAMPS = ("actor_type", "actor_id", "actor_label", "created", "updated")


def _stamps_last(names) -> list[str]:
    """Field names with who/when (inherited from core.models' stamps, so first in the model) last."""
    names = list(names)
    return [n for n in names if n not in _STAMPS] + [n for n in _STAMPS if n in names]


class AttemptInline(ReadOnlyInline):
    model = PaymentAttempt
    fields = ("sequence", "provider", "status", "decline_code", "latency_ms", "provider_reference", "reason",
              "created")
    readonly_fields = fields


class RefundInline(MoneyAdminMixin, ReadOnlyInline):
    model = Refund
    fields = ("id", "amount", "reason", "note", "status", "failure_reason", "entry_id", "created")
    readonly_fields = fields
    money_fields = ("amount",)


@admin.register(Payment)
class PaymentAdmin(LargeTableAdminMixin, OperationActionsMixin, MoneyAdminMixin, ReadOnlyAdmin):
    exclude = ("risk_explanation",)  # shown in words by risk_explained
    list_display = ("id", "customer", "amount", "status", "method", "provider", "failure_code",
                    "risk_decision", "created")
    money_fields = ("amount", "amount_capturable", "amount_captured", "amount_refunded", "fee_amount",
                    "fee_refunded")
    list_filter = ("status", "currency", ("provider", IndexedValuesFilter), "method", "capture_method",
                   ("risk_decision", IndexedValuesFilter), "review_status")
    search_fields = ("=id", "=customer__id", "customer__email", "=provider_reference", "=merchant_reference")
    list_select_related = ("customer",)
    # No date_hierarchy: its year and month lists scan a million rows; the dashboards link here with
    # created__gte/created__lt instead.
    inlines = [AttemptInline, RefundInline]
    operation_actions = (
        operation_action("capture_payment", label="Capture", id_field="payment_id",
                         when=lambda p: p.status == Payment.Status.REQUIRES_CAPTURE),
        operation_action("cancel_payment", label="Cancel", id_field="payment_id",
                         when=lambda p: p.status in CANCELABLE),
        operation_action("refund_payment", label="Refund", id_field="payment_id",
                         when=lambda p: p.amount_refundable > 0),
        operation_action("verify_payment", label="Verify with the provider", id_field="payment_id"),
        operation_action("review_payment", label="Risk review: approve", id_field="payment_id",
                         fixed={"decision": "approve"}, name="approve_review",
                         when=lambda p: p.review_status == Payment.Review.PENDING),
        operation_action("review_payment", label="Risk review: reject", id_field="payment_id",
                         fixed={"decision": "reject"}, name="reject_review",
                         when=lambda p: p.review_status == Payment.Review.PENDING),
    )

    def get_readonly_fields(self, request, obj=None):
        # The stored explanation is shown once, in words (risk_explained), not as its raw JSON as well.
        return _stamps_last(f.name for f in Payment._meta.fields if f.name != "risk_explanation") + [
            "risk_explained", "ledger_entries", "audit_history"]

    @admin.display(description="Risk explanation")
    def risk_explained(self, obj):
        from .admin_risk import explanation_html

        return explanation_html(obj)

    @admin.display(description="Ledger entries")
    def ledger_entries(self, obj):
        from wallets.models import JournalEntry

        entries = JournalEntry.objects.filter(metadata__payment_id=obj.pk).order_by("created")
        return format_html_join("", "<div>{} {} {}</div>", ((e.pk, e.kind, e.created.isoformat()) for e in entries)) \
            or "-"

    @admin.display(description="Audit history")
    def audit_history(self, obj):
        events = AuditEvent.objects.filter(object_id=obj.pk).order_by("occurred_at")[:100]
        return format_html_join("", "<div>{} {} by {} ({})</div>", (
            (e.occurred_at.isoformat(), e.action, e.actor_label, e.outcome) for e in events)) or "-"


@admin.register(Refund)
class RefundAdmin(LargeTableAdminMixin, MoneyAdminMixin, ReadOnlyAdmin):
    list_display = ("id", "payment", "amount", "reason", "status", "created")
    list_filter = ("status", "reason", "currency")
    search_fields = ("=id", "=payment__id", "=provider_reference")
    list_select_related = ("payment",)
    money_fields = ("amount", "fee_returned")

    def get_fields(self, request, obj=None):
        return _stamps_last(super().get_fields(request, obj))


class SettingsAdmin(admin.ModelAdmin):
    """Edited by staff; saved through the service so each change is validated and audited."""

    exclude = ("created", "updated")
    saver: Any = None  # each subclass's staticmethod (actor, obj) that saves through the service

    def save_model(self, request, obj, form, change):
        saver = type(self).saver
        try:
            saver(actor=Actor.for_user(request.user), obj=obj)
        except DomainError as exc:
            # Nothing was saved; the staff member sees why.
            self.message_user(request, f"Not saved: {exc.code}: {exc.message} {exc.details}", messages.ERROR)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(RoutingRule)
class RoutingRuleAdmin(SettingsAdmin):
    list_display = ("name", "priority", "currency", "method", "allowed_providers", "disabled_providers", "learning",
                    "enabled")
    list_filter = ("enabled", "currency", "method")

    @staticmethod
    def saver(*, actor, obj):
        return routing_rule_save(actor=actor, rule=obj)


class FeeScheduleForm(MoneyFormMixin, forms.ModelForm):
    fixed_amount = AmountField(allow_zero=True, currency_field="currency", label="Fixed amount",
                               help_text='Per payment, in major units of the currency, e.g. "0.30".')

    class Meta:
        model = FeeSchedule
        fields = ("provider", "currency", "percent_bps", "fixed_amount", "active")


@admin.register(FeeSchedule)
class FeeScheduleAdmin(MoneyAdminMixin, SettingsAdmin):
    form = FeeScheduleForm
    fields = (("provider", "currency"), "percent_bps", "fixed_amount", "active")
    list_display = ("provider", "currency", "percent_bps", "fixed_amount", "active")
    list_filter = ("provider", "currency", "active")
    money_fields = ("fixed_amount",)

    @staticmethod
    def saver(*, actor, obj):
        return fee_schedule_save(actor=actor, schedule=obj)


@admin.register(ProviderStat)
class ProviderStatAdmin(ReadOnlyAdmin):
    list_display = ("provider", "currency", "bucket", "attempts", "successes", "success_rate", "avg_latency")
    list_filter = ("provider", "currency")

    @admin.display(description="Success rate")
    def success_rate(self, obj):
        return f"{obj.successes / obj.attempts:.1%}" if obj.attempts else "-"

    @admin.display(description="Avg latency (ms)")
    def avg_latency(self, obj):
        return round(obj.latency_ms_total / obj.attempts) if obj.attempts else "-"


@admin.register(WebhookEvent)
class WebhookEventAdmin(OperationActionsMixin, ReadOnlyAdmin):
    list_display = ("id", "provider", "type", "provider_event_id", "status", "attempts", "payment_id", "received_at")
    list_filter = ("status", "provider", "type")
    search_fields = ("=id", "=provider_event_id", "=payment_id")
    operation_actions = (operation_action("retry_webhook_event", label="Retry applying", id_field="event_id",
                                          name="retry"),)

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in WebhookEvent._meta.fields]


def _amounts_as_money(data, currency):
    """A mismatch's expected/actual figures (minor units inside) with each amount as money."""
    if not isinstance(data, dict):
        return data
    return json.dumps({k: money_text(v, currency) if isinstance(v, int) and not isinstance(v, bool)
                       and k in _MISMATCH_AMOUNTS else v for k, v in data.items()})


_MISMATCH_AMOUNTS = {"amount", "amount_captured", "amount_refunded", "net_captured", "clearing_paid_out"}


@admin.register(ReconciliationMismatch)
class ReconciliationMismatchAdmin(OperationActionsMixin, ReadOnlyAdmin):
    list_display = ("id", "run_date", "kind", "payment", "provider", "currency", "status", "created")
    list_filter = ("status", "kind", "provider", "run_date")
    search_fields = ("=id", "=payment__id")
    list_select_related = ("payment",)
    operation_actions = (operation_action("resolve_reconciliation_mismatch", label="Resolve (note)",
                                          id_field="mismatch_id", name="resolve"),)

    def get_readonly_fields(self, request, obj=None):
        return [{"expected": "expected_money", "actual": "actual_money"}.get(f.name, f.name)
                for f in ReconciliationMismatch._meta.fields]

    def get_fields(self, request, obj=None):
        return self.get_readonly_fields(request, obj)

    @admin.display(description="Expected")
    def expected_money(self, obj):
        return _amounts_as_money(obj.expected, obj.currency)

    @admin.display(description="Actual")
    def actual_money(self, obj):
        return _amounts_as_money(obj.actual, obj.currency)


from . import admin_risk  # noqa: E402,F401  (risk thresholds and rules)
