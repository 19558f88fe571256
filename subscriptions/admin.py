"""Staff pages for subscriptions: thin, every change goes through a service."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from core.admin_add import OperationAddMixin, operation_create
from core.admin_base import MoneyAdminMixin, ReadOnlyAdmin, ReadOnlyInline, money_display, money_text
from core.admin_ops import OperationActionsMixin, operation_action
from core.context import Actor
from core.errors import DomainError
from core.money import format_amount

from . import services
from .models import BillingRun, ChurnModel, DunningSettings, Invoice, InvoiceAttempt, InvoiceLine, Plan, Subscription
from .services.subscriptions import CHANGEABLE

# Buttons are offered only where the operation applies; the operation refuses the rest anyway.
ENDED = (Subscription.Status.CANCELED, Subscription.Status.INCOMPLETE_EXPIRED)

_money = money_text


@admin.register(Plan)
class PlanAdmin(OperationAddMixin, OperationActionsMixin, MoneyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "name", "amount", "interval", "interval_count", "trial_days", "active", "created")
    list_filter = ("active", "currency", "interval")
    search_fields = ("id", "name")
    operation_add = operation_create("create_plan")
    operation_actions = (
        operation_action("archive_plan", label="Archive (no new subscriptions)", id_field="plan_id", name="archive",
                         when=lambda plan: plan.active),
    )
    money_fields = ("amount",)
    amount_money = money_display("amount", description="Price")
    changed_by_operations_only = True

    def get_readonly_fields(self, request, obj=None):
        # A plan in use is never edited in place: a price change is a new plan.
        return [f.name for f in Plan._meta.fields]

    def has_delete_permission(self, request, obj=None):
        return False


class InvoiceInline(MoneyAdminMixin, ReadOnlyInline):
    model = Invoice
    fields = ("number", "status", "billing_reason", "period_start", "period_end", "total", "attempt_count")
    readonly_fields = fields
    show_change_link = True
    money_fields = ("total",)


@admin.register(Subscription)
class SubscriptionAdmin(OperationActionsMixin, ReadOnlyAdmin):
    list_display = ("id", "customer", "plan", "quantity", "status", "current_period_end", "cancel_at_period_end")
    list_filter = ("status", "cancel_at_period_end")
    list_select_related = ("customer", "plan")
    search_fields = ("id", "customer__id", "customer__email")
    show_full_result_count = False
    inlines = [InvoiceInline]
    operation_actions = (
        operation_action("update_subscription", label="Change plan or quantity", id_field="subscription_id",
                         fixed={"preview": False}, name="change_plan", when=lambda sub: sub.status in CHANGEABLE),
        operation_action("cancel_subscription", label="Cancel now", id_field="subscription_id",
                         fixed={"at_period_end": False}, name="cancel_now", when=lambda sub: sub.status not in ENDED),
        operation_action("cancel_subscription", label="Cancel at period end", id_field="subscription_id",
                         fixed={"at_period_end": True}, name="cancel_at_end",
                         when=lambda sub: sub.status in CHANGEABLE and not sub.cancel_at_period_end),
        operation_action("pause_subscription", label="Pause", id_field="subscription_id", name="pause",
                         when=lambda sub: sub.status in CHANGEABLE),
        operation_action("resume_subscription", label="Resume (new period, invoiced now)",
                         id_field="subscription_id", name="resume",
                         when=lambda sub: sub.status == Subscription.Status.PAUSED),
    )


class LineInline(MoneyAdminMixin, ReadOnlyInline):
    model = InvoiceLine
    fields = ("description", "period_start", "period_end", "quantity", "unit_amount", "amount", "proration")
    readonly_fields = fields
    money_fields = ("unit_amount", "amount")


class AttemptInline(ReadOnlyInline):
    model = InvoiceAttempt
    fields = ("number", "status", "payment_id", "failure_code", "hard_decline", "created", "settled")
    readonly_fields = fields


@admin.register(Invoice)
class InvoiceAdmin(OperationActionsMixin, MoneyAdminMixin, ReadOnlyAdmin):
    list_display = ("number", "id", "customer", "subscription", "status", "total", "attempt_count",
                    "next_payment_attempt", "created")
    money_fields = ("subtotal", "total", "amount_paid")
    list_filter = ("status", "billing_reason", "currency")
    list_select_related = ("customer", "subscription")
    search_fields = ("id", "number", "subscription__id", "customer__email")
    show_full_result_count = False
    inlines = [LineInline, AttemptInline]
    readonly_fields = ("printable",)
    operation_actions = (
        operation_action("pay_invoice", label="Pay now", id_field="invoice_id", name="pay",
                         when=lambda invoice: invoice.status in (Invoice.Status.OPEN, Invoice.Status.UNCOLLECTIBLE)),
        operation_action("void_invoice", label="Void", id_field="invoice_id", name="void",
                         when=lambda invoice: invoice.status in (Invoice.Status.DRAFT, Invoice.Status.OPEN,
                                                                 Invoice.Status.UNCOLLECTIBLE)),
        operation_action("mark_invoice_uncollectible", label="Mark uncollectible", id_field="invoice_id",
                         name="mark_uncollectible", when=lambda invoice: invoice.status == Invoice.Status.OPEN),
    )

    def printable(self, obj):
        url = reverse("admin:subscriptions_invoice_print", args=[quote(obj.pk)])
        return format_html('<a class="button" href="{}" target="_blank">Printable invoice</a>', url)

    def get_urls(self):
        # Before the operation and change URLs, which would take "print" for an object id.
        return [path("<str:object_id>/print/", self.admin_site.admin_view(self.print_view),
                     name="subscriptions_invoice_print"), *super().get_urls()]

    def print_view(self, request, object_id):
        invoice = get_object_or_404(Invoice.objects.select_related("customer", "subscription__plan"),
                                    pk=unquote(object_id))
        if not self.has_view_permission(request, invoice):
            raise PermissionDenied
        # Lines sit under an "Amount (USD)" heading; the totals carry their currency themselves.
        lines = [(line, format_amount(line.unit_amount, line.currency), format_amount(line.amount, line.currency))
                 for line in invoice.lines.all()]
        cur = invoice.currency
        return TemplateResponse(request, "admin/subscriptions/invoice_print.html", {
            "invoice": invoice, "lines": lines, "subtotal": _money(invoice.subtotal, cur),
            "total": _money(invoice.total, cur), "paid": _money(invoice.amount_paid, cur),
            "due": _money(invoice.total - invoice.amount_paid, cur)})


@admin.register(BillingRun)
class BillingRunAdmin(ReadOnlyAdmin):
    list_display = ("id", "as_of", "status", "started", "finished", "renewed", "invoices_created",
                    "payments_attempted", "payments_succeeded", "payments_failed", "canceled", "expired", "errors")
    list_filter = ("status",)
    show_full_result_count = False


class DunningForm(forms.ModelForm):
    class Meta:
        model = DunningSettings
        fields = ("retry_days", "final_action", "mark_uncollectible", "notify_customers", "note")


@admin.register(DunningSettings)
class DunningSettingsAdmin(admin.ModelAdmin):
    """Each save adds a row: the list is the history, the newest row is in force."""

    list_display = ("created", "retry_days", "final_action", "mark_uncollectible", "notify_customers",
                    "created_by", "note")
    form = DunningForm

    def get_readonly_fields(self, request, obj=None):
        return [*DunningForm.Meta.fields, "created_by", "created"] if obj else []

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        try:
            saved = services.dunning_settings_save(
                actor=Actor.for_user(request.user), retry_days=data["retry_days"], final_action=data["final_action"],
                mark_uncollectible=data["mark_uncollectible"], notify_customers=data["notify_customers"],
                note=data["note"])
            obj.pk = saved.pk
        except DomainError as exc:
            self.message_user(request, f"Not saved: {exc.code}: {exc.message} {exc.details}", messages.ERROR)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ChurnModel)
class ChurnModelAdmin(ReadOnlyAdmin):
    list_display = ("version", "trained_at", "n_train", "n_eval", "metrics")
    exclude = ("booster",)
    change_list_template = "admin/subscriptions/churn_changelist.html"

    def get_urls(self):
        return [path("at-risk/", self.admin_site.admin_view(self.at_risk_view), name="subscriptions_churn_at_risk"),
                *super().get_urls()]

    def at_risk_view(self, request):
        from . import churn

        if not self.has_view_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            if not request.user.has_perm("subscriptions.add_churnmodel"):
                raise PermissionDenied
            trained = churn.train(actor=Actor.for_user(request.user))
            if trained is None:
                self.message_user(request, "Not enough history to train a churn model.", messages.WARNING)
            else:
                active = trained.status == trained.Status.ACTIVE
                self.message_user(request, f"Trained {trained.version}: {trained.status} "
                                  f"({trained.promotion.get('reason', '')}).",
                                  messages.SUCCESS if active else messages.WARNING)
            return redirect(reverse("admin:subscriptions_churn_at_risk"))
        context = {**self.admin_site.each_context(request), "title": "Subscriptions at risk of churn",
                   "result": churn.stored_at_risk(limit=50), "opts": ChurnModel._meta}
        return TemplateResponse(request, "admin/subscriptions/at_risk.html", context)
