"""Staff views of wallets and the ledger. The ledger is read-only here. A change to an existing object is an
operation call (core.admin_ops: list actions and buttons on its page); a new wallet is the create_wallet
operation (core.admin_add); a new exchange rate, which has no operation, saves through the service."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.utils import formats, timezone

from core.admin_add import OperationAddMixin, operation_create
from core.admin_base import (
    IndexedValuesFilter,
    LargeTableAdminMixin,
    MoneyAdminMixin,
    ReadOnlyAdmin,
    ReadOnlyInline,
    money_text,
)
from core.admin_ops import OperationActionsMixin, operation_action
from core.context import Actor
from core.errors import DomainError
from core.forms import AmountField, MoneyFormMixin
from core.money import format_amount

from . import selectors, services
from .models import ExchangeRate, Hold, JournalEntry, KycLimit, LedgerAccount, Posting, Wallet
from .services.kyc import kyc_limit_save

_money = money_text


@admin.register(Wallet)
class WalletAdmin(OperationAddMixin, OperationActionsMixin, MoneyAdminMixin, admin.ModelAdmin):
    operation_add = operation_create("create_wallet", label="Open wallet")
    list_display = ("id", "customer", "currency", "status", "balance", "available", "daily_limit", "created")
    list_filter = ("status", "currency")
    search_fields = ("=id", "=customer__id", "customer__email")
    list_select_related = ("customer", "account")
    show_full_result_count = False
    operation_actions = (
        operation_action("freeze_wallet", label="Freeze", id_field="wallet_id",
                         when=lambda w: w.status == Wallet.Status.ACTIVE),
        operation_action("unfreeze_wallet", label="Unfreeze", id_field="wallet_id",
                         when=lambda w: w.status == Wallet.Status.FROZEN),
        operation_action("adjust_wallet", label="Adjust balance (against suspense)", id_field="wallet_id",
                         when=lambda w: w.status != Wallet.Status.CLOSED),
        operation_action("set_wallet_daily_limit", label="Set daily limit", id_field="wallet_id",
                         when=lambda w: w.status != Wallet.Status.CLOSED),
        operation_action("close_wallet", label="Close", id_field="wallet_id",
                         when=lambda w: w.status != Wallet.Status.CLOSED),
        # Money out, for staff acting on a customer's request: the same checks as REST and MCP
        # (balance, daily limit, KYC limit).
        operation_action("transfer_funds", label="Transfer out", id_field="from_wallet_id",
                         when=lambda w: w.status == Wallet.Status.ACTIVE),
        operation_action("convert_funds", label="Convert", id_field="from_wallet_id",
                         when=lambda w: w.status == Wallet.Status.ACTIVE),
        operation_action("withdraw_funds", label="Withdraw", id_field="wallet_id",
                         when=lambda w: w.status == Wallet.Status.ACTIVE),
    )
    change_form_template = "admin/wallets/wallet/change_form.html"
    money_fields = ("daily_limit",)
    changed_by_operations_only = True

    # A wallet's page shows it; every change to it is one of the operations above.
    shown_fields = ("id", "customer", "currency", "status", "status_reason", "daily_limit", "account", "created",
                    "last_changed")

    def get_fields(self, request, obj=None):
        return self.shown_fields

    def get_readonly_fields(self, request, obj=None):
        return self.shown_fields

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Updated")
    def last_changed(self, obj):
        # Formatted as the admin formats a date field (a display method's value is printed as is).
        return formats.localize(timezone.template_localtime(obj.last_changed))  # type: ignore[attr-defined]  # missing from the stubs

    @admin.display(description="Balance")
    def balance(self, obj):
        return _money(obj.account.balance, obj.currency)

    @admin.display(description="Available")
    def available(self, obj):
        return _money(obj.account.available, obj.currency)

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
class JournalEntryAdmin(LargeTableAdminMixin, OperationActionsMixin, ReadOnlyAdmin):
    list_display = ("id", "kind", "description", "actor_label", "reverses", "created")
    list_filter = (("kind", IndexedValuesFilter),)
    search_fields = ("=id", "=idempotency_key")
    inlines = [PostingInline]
    operation_actions = (operation_action("reverse_journal_entry", label="Reverse", id_field="entry_id"),)
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
        saved = services.exchange_rate_set(
            actor=Actor.for_user(request.user), base_currency=data["base_currency"],
            quote_currency=data["quote_currency"], rate=data["rate"], source=data["source"],
            valid_from=data["valid_from"])
        obj.__dict__.update({k: v for k, v in saved.__dict__.items() if not k.startswith("_")})


class KycLimitForm(MoneyFormMixin, forms.ModelForm):
    daily_outgoing_limit = AmountField(
        allow_zero=True, required=False, currency_field="currency", label="Daily transfers and conversions",
        help_text="Per UTC day, in major units of the currency. Empty: no limit; 0: none allowed.")
    daily_withdrawal_limit = AmountField(
        allow_zero=True, required=False, currency_field="currency", label="Daily withdrawals",
        help_text="Per UTC day, in major units of the currency. Empty: no limit; 0: none allowed.")

    class Meta:
        model = KycLimit
        fields = ("kyc_status", "currency", "daily_outgoing_limit", "daily_withdrawal_limit")


@admin.register(KycLimit)
class KycLimitAdmin(MoneyAdminMixin, admin.ModelAdmin):
    """What customers whose KYC is not verified may move out per day (verified customers: no KYC limit).
    Edited by staff; saved through `kyc_limit_save`, audited, with field history."""

    form = KycLimitForm
    fields = (("kyc_status", "currency"), "daily_outgoing_limit", "daily_withdrawal_limit")
    list_display = ("kyc_status", "currency", "daily_outgoing_limit", "daily_withdrawal_limit", "updated")
    list_filter = ("kyc_status", "currency")
    money_fields = ("daily_outgoing_limit", "daily_withdrawal_limit")

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        try:
            kyc_limit_save(actor=Actor.for_user(request.user), limit=obj)
        except DomainError as exc:
            # Nothing was saved; the staff member sees why.
            self.message_user(request, f"Not saved: {exc.code}: {exc.message} {exc.details}", messages.ERROR)
