"""Staff views of wallets and the ledger. The ledger is read-only here; every change is a service call."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.template.response import TemplateResponse
from django.utils import formats, timezone

from core.admin_base import MoneyAdminMixin, ReadOnlyAdmin, ReadOnlyInline, money_text, run_for_each
from core.context import Actor
from core.db import run_in_transaction
from core.forms import AmountField, MoneyFormMixin
from core.money import format_amount

from . import ledger, selectors, services
from .models import ExchangeRate, Hold, JournalEntry, LedgerAccount, Posting, Wallet

_money = money_text


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 2}))


class AdjustForm(ReasonForm):
    amount = AmountField(allow_negative=True,
                         help_text="Signed, in major units: 10.00 credits the wallet, -10.00 debits it.")

    field_order = ["amount", "reason"]

    def __init__(self, *args, currency=None, **kwargs):
        super().__init__(*args, **kwargs)
        # One currency among the selected wallets: the amount is checked here, next to its code.
        self.fields["amount"].currency = currency  # type: ignore[attr-defined]  # an AmountField; fields[] is any Field


class WalletForm(MoneyFormMixin, forms.ModelForm):
    daily_limit = AmountField(required=False, allow_zero=True, currency_field="currency", label="Daily limit",
                              help_text="Outgoing limit per UTC day, in major units of the wallet's currency; "
                                        "empty: no limit.")

    class Meta:
        model = Wallet
        fields = ("customer", "currency", "daily_limit")


def _form_action(modeladmin, request, queryset, *, form_class, action, intro, submit_label, apply, form_kwargs=None):
    """An admin action with a form: shows the form first, runs `apply(obj, data)` per object on submit."""
    form = form_class(request.POST if "apply" in request.POST else None, **(form_kwargs or {}))
    if form.is_bound and form.is_valid():
        run_for_each(modeladmin, request, queryset, submit_label, lambda actor, obj: apply(obj, form.cleaned_data))
        return None
    context = {**modeladmin.admin_site.each_context(request), "title": submit_label, "form": form,
               "queryset": queryset, "action": action, "intro": intro, "submit_label": submit_label,
               "opts": modeladmin.model._meta}
    return TemplateResponse(request, "admin/wallets/action_form.html", context)


@admin.register(Wallet)
class WalletAdmin(MoneyAdminMixin, admin.ModelAdmin):
    form = WalletForm
    list_display = ("id", "customer", "currency", "status", "balance", "available", "daily_limit", "created")
    list_filter = ("status", "currency")
    search_fields = ("=id", "=customer__id", "customer__email")
    list_select_related = ("customer", "account")
    show_full_result_count = False
    actions = ["freeze", "unfreeze", "adjust"]
    change_form_template = "admin/wallets/wallet/change_form.html"
    raw_id_fields = ("customer",)
    money_fields = ("daily_limit",)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("customer", "currency", "daily_limit")
        return ("id", "customer", "currency", "status", "status_reason", "daily_limit", "account", "created",
                "last_changed")

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return ("id", "customer", "currency", "status", "status_reason", "account", "created", "last_changed")

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Updated")
    def last_changed(self, obj):
        # Formatted as the admin formats a date field (a display method's value is printed as is).
        return formats.localize(timezone.template_localtime(obj.last_changed))  # type: ignore[attr-defined]  # in Django 5.2; not in the 6.1 stubs

    @admin.display(description="Balance")
    def balance(self, obj):
        return _money(obj.account.balance, obj.currency)

    @admin.display(description="Available")
    def available(self, obj):
        return _money(obj.account.available, obj.currency)

    def save_model(self, request, obj, form, change):
        actor = Actor.for_user(request.user)
        if change:
            saved = run_in_transaction(lambda: services.wallet_set_daily_limit(
                actor=actor, wallet_id=obj.pk, daily_limit=form.cleaned_data["daily_limit"]))
        else:
            saved = run_in_transaction(lambda: services.wallet_create(
                actor=actor, customer_id=form.cleaned_data["customer"].pk, currency=form.cleaned_data["currency"],
                daily_limit=form.cleaned_data["daily_limit"]))
        obj.__dict__.update({k: v for k, v in saved.__dict__.items() if not k.startswith("_")})

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        # The admin escapes ids in its URLs (`wal_5F...` for `wal_...`); its own views unquote them too.
        wallet = Wallet.objects.select_related("account").filter(pk=unquote(object_id)).first()
        if wallet is not None:
            cur = wallet.currency
            history = selectors.wallet_transaction_history(wallet_id=wallet.pk, limit=25).items
            for t in history:
                t["amount_display"] = _money(t["amount"], cur)
                t["balance_after_display"] = _money(t["balance_after"], cur)
            insights = selectors.wallet_insights(wallet_id=wallet.pk)
            insights["totals_display"] = {k: _money(insights["totals"][k], cur) for k in ("incoming", "outgoing")}
            for key in ("by_kind", "by_counterparty"):
                insights[f"{key}_display"] = [{**row, "incoming": _money(row["incoming"], cur),
                                               "outgoing": _money(row["outgoing"], cur)} for row in insights[key]]
            insights["unusual_display"] = [{**u, "amount": _money(u["amount"], cur)} for u in insights["unusual"]]
            extra_context.update(wallet_history=history, insights=insights,
                                 # The template puts the currency after these two.
                                 wallet_balance=format_amount(wallet.account.balance, cur),
                                 wallet_available=format_amount(wallet.account.available, cur))
        return super().change_view(request, object_id, form_url, extra_context)

    def _status_action(self, request, queryset, service, label):
        return _form_action(
            self, request, queryset, form_class=ReasonForm, action=service.__name__.removeprefix("wallet_"),
            intro=f"{label} these wallets. The reason is kept in the audit trail.", submit_label=label,
            apply=lambda w, data: run_in_transaction(lambda: service(
                actor=Actor.for_user(request.user), wallet_id=w.pk, reason=data["reason"])))

    @admin.action(description="Freeze selected wallets", permissions=["freeze"])
    def freeze(self, request, queryset):
        return self._status_action(request, queryset, services.wallet_freeze, "Freeze")

    @admin.action(description="Unfreeze selected wallets", permissions=["freeze"])
    def unfreeze(self, request, queryset):
        return self._status_action(request, queryset, services.wallet_unfreeze, "Unfreeze")

    @admin.action(description="Adjust balance of selected wallets (against suspense)", permissions=["adjust"])
    def adjust(self, request, queryset):
        def apply(wallet, data):
            amount = AdjustForm.base_fields["amount"].minor_for(data["amount"], wallet.currency)  # type: ignore[attr-defined]  # an AmountField
            run_in_transaction(lambda: services.wallet_adjust(
                actor=Actor.for_user(request.user), wallet_id=wallet.pk, amount=amount, reason=data["reason"]))

        currencies = set(queryset.values_list("currency", flat=True))
        return _form_action(self, request, queryset, form_class=AdjustForm, action="adjust",
                            intro="Post a manual adjustment against the suspense account.",
                            submit_label="Adjust", apply=apply,
                            form_kwargs={"currency": currencies.pop() if len(currencies) == 1 else None})

    def has_freeze_permission(self, request):
        return request.user.has_perm("wallets.freeze_wallet")

    def has_adjust_permission(self, request):
        return request.user.has_perm("wallets.adjust_wallet")


@admin.register(LedgerAccount)
class LedgerAccountAdmin(MoneyAdminMixin, ReadOnlyAdmin):
    list_display = ("id", "account_type", "owner", "currency", "balance", "pending_debits", "allow_negative",
                    "version")
    list_filter = ("account_type", "currency")
    search_fields = ("=id", "owner")
    money_fields = ("balance", "pending_debits", "pending_credits")


# Amounts the services keep in an entry's metadata, with the key of their currency (or the
# entry's one currency).
_METADATA_AMOUNTS = {"amount": "currency", "from_amount": "from_currency", "to_amount": "to_currency",
                     "fee": "currency"}


class PostingInline(MoneyAdminMixin, ReadOnlyInline):
    model = Posting
    fields = ("account", "amount", "balance_after")
    readonly_fields = fields
    money_fields = ("amount", "balance_after")


@admin.register(JournalEntry)
class JournalEntryAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "description", "actor_label", "reverses", "created")
    list_filter = ("kind",)
    search_fields = ("=id", "=idempotency_key")
    inlines = [PostingInline]
    actions = ["reverse"]
    fields = ("id", "kind", "description", "actor_type", "actor_id", "actor_label", "idempotency_key",
              "metadata_money", "reverses", "created")
    readonly_fields = fields

    @admin.display(description="Metadata")
    def metadata_money(self, obj):
        """The entry's metadata with its amounts (minor units inside) as money."""
        data = dict(obj.metadata or {})
        currencies = {p.currency for p in obj.postings.all()}
        for key, currency_key in _METADATA_AMOUNTS.items():
            value = data.get(key)
            currency = data.get(currency_key) or (next(iter(currencies)) if len(currencies) == 1 else None)
            if isinstance(value, int) and not isinstance(value, bool) and currency:
                data[key] = money_text(value, currency)
        return json.dumps(data, ensure_ascii=False)

    @admin.action(description="Reverse selected entries", permissions=["reverse"])
    def reverse(self, request, queryset):
        return _form_action(
            self, request, queryset, form_class=ReasonForm, action="reverse",
            intro="Post a reversing entry for each (every posting negated); the originals stay as they are.",
            submit_label="Reverse",
            apply=lambda entry, data: run_in_transaction(lambda: ledger.entry_reverse(
                entry_id=entry.pk, actor=Actor.for_user(request.user), reason=data["reason"])))

    def has_reverse_permission(self, request):
        return request.user.has_perm("wallets.reverse_journalentry")


@admin.register(Hold)
class HoldAdmin(MoneyAdminMixin, ReadOnlyAdmin):
    list_display = ("id", "account", "amount", "captured_amount", "status", "expires_at", "created")
    money_fields = ("amount", "captured_amount")
    list_filter = ("status",)
    search_fields = ("=id",)
    list_select_related = ("account",)


@admin.register(ExchangeRate)
class ExchangeRateAdmin(admin.ModelAdmin):
    """Rates are history: a new rate is a new row, so existing rows are view-only."""

    list_display = ("base_currency", "quote_currency", "rate", "source", "valid_from", "created")
    list_filter = ("base_currency", "quote_currency")
    fields = ("base_currency", "quote_currency", "rate", "source", "valid_from")

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        saved = run_in_transaction(lambda: services.exchange_rate_set(
            actor=Actor.for_user(request.user), base_currency=data["base_currency"],
            quote_currency=data["quote_currency"], rate=data["rate"], source=data["source"],
            valid_from=data["valid_from"]))
        obj.__dict__.update({k: v for k, v in saved.__dict__.items() if not k.startswith("_")})
