"""The double-entry ledger and the customer wallets built on it.

Sign convention (DESIGN.md): a posting is signed, an account's balance is the sum of its
postings, a movement of X from A to B posts -X on A and +X on B. Entries and postings are
append-only: migration 0002 installs the triggers that refuse UPDATE and DELETE on them.
"""

from django.db import models
from django.db.models import Q

from accounts.models import Customer
from core.ids import PublicIdField
from core.models import ActorStamped, Timestamped
from core.money import CURRENCY_CHOICES, format_amount


class AccountType(models.TextChoices):
    CUSTOMER_WALLET = "customer_wallet"
    MERCHANT_REVENUE = "merchant_revenue"
    PROVIDER_CLEARING = "provider_clearing"
    FEES = "fees"
    REFUNDS = "refunds"
    FX_LIQUIDITY = "fx_liquidity"
    SUSPENSE = "suspense"


# Accounts that face the outside world (money arrives from or leaves to it) may go negative.
NEGATIVE_ALLOWED_TYPES = frozenset({
    AccountType.PROVIDER_CLEARING, AccountType.SUSPENSE, AccountType.FX_LIQUIDITY,
    AccountType.FEES, AccountType.REFUNDS,
})


class LedgerAccount(models.Model):
    """One account per (owner, type, currency); its balance is the sum of its postings."""

    id = models.BigAutoField(primary_key=True)
    owner = models.CharField(max_length=80, help_text="'platform', 'provider:<name>' or a customer id.")
    account_type = models.CharField(max_length=24, choices=AccountType.choices)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    balance = models.BigIntegerField(default=0, help_text="The sum of every posting on the account.")
    pending_debits = models.BigIntegerField(default=0, help_text="Reserved by pending holds.")
    pending_credits = models.BigIntegerField(default=0)
    allow_negative = models.BooleanField(default=False)
    version = models.BigIntegerField(default=0, help_text="How many times the account has changed.")
    created = models.DateTimeField()
    # Set by the same statement that changes the balance or the pending holds (ledger_write), so
    # a wallet's `updated` follows its money without a second row to lock on the hot path.
    updated = models.DateTimeField(null=True, blank=True,
                                   help_text="When the balance or the pending holds last changed.")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "account_type", "currency"], name="ledger_account_owner_uniq"),
            models.CheckConstraint(condition=Q(pending_debits__gte=0) & Q(pending_credits__gte=0),
                                   name="ledger_account_pending_nonneg"),
        ]

    def __str__(self):
        return f"{self.account_type}:{self.owner}:{self.currency}"

    @property
    def available(self) -> int:
        return self.balance - self.pending_debits


class JournalEntry(ActorStamped, models.Model):
    """One balanced movement of money (`txn_`). Never edited: mistakes get a reversing entry, so it has a
    `created` and no `updated`."""

    id = PublicIdField(prefix="txn")
    kind = models.CharField(max_length=40, db_index=True)
    description = models.CharField(max_length=500, blank=True)
    idempotency_key = models.CharField(max_length=255, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    reverses = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="reversed_by")
    created = models.DateTimeField()
    posting_rows: "list[Posting]"  # not a column: the postings wallets.ledger writes with the entry

    class Meta:
        ordering = ["-created", "-id"]
        verbose_name_plural = "journal entries"
        permissions = [("reverse_journalentry", "Can reverse a journal entry")]
        indexes = [models.Index(fields=["-created", "-id"], name="journalentry_created_idx")]
        constraints = [
            models.UniqueConstraint(fields=["idempotency_key"], condition=~Q(idempotency_key=""),
                                    name="journalentry_idem_uniq"),
        ]

    def __str__(self):
        return f"{self.id} {self.kind}"


class Posting(models.Model):
    """One signed line of an entry on one account. `kind` and `created` copy the entry's, for reads."""

    id = models.BigAutoField(primary_key=True)
    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="postings")
    # Indexed with the id below (posting order per account: histories and last balances), not alone.
    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="postings", db_index=False)
    amount = models.BigIntegerField(help_text="Negative leaves the account, positive enters it.")
    currency = models.CharField(max_length=3)
    balance_after = models.BigIntegerField()
    kind = models.CharField(max_length=40)
    created = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["account", "-created", "-id"], name="posting_account_created_idx"),
                   models.Index(fields=["account", "-id"], name="posting_account_order_idx"),
                   # Flows over a period (wallets dashboard): a period's postings from the index alone
                   # on PostgreSQL.
                   models.Index(fields=["created"], include=["account", "amount", "currency"],
                                name="posting_created_idx")]

    def __str__(self):
        # Shown on each row of an entry's postings in the admin: money, not minor units or row ids.
        return f"{self.entry_id} {format_amount(self.amount, self.currency)} {self.currency}"


class Hold(Timestamped, models.Model):
    """A two-phase reservation (`hld_`): pending, then captured (all or part), voided or expired."""

    class Status(models.TextChoices):
        PENDING = "pending"
        CAPTURED = "captured"
        VOIDED = "voided"
        EXPIRED = "expired"

    id = PublicIdField(prefix="hld")
    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="holds")
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    captured_amount = models.BigIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    description = models.CharField(max_length=500, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    capture_entry = models.ForeignKey(JournalEntry, null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="+")
    actor_label = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created"]
        indexes = [models.Index(fields=["status", "expires_at"], name="hold_status_expiry_idx")]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="hold_amount_positive")]

    def __str__(self):
        return f"{self.id} {self.status}"


class Wallet(Timestamped, models.Model):
    """A customer's balance in one currency (`wal_`), on its own customer_wallet ledger account."""

    class Status(models.TextChoices):
        ACTIVE = "active"
        FROZEN = "frozen"
        CLOSED = "closed"

    id = PublicIdField(prefix="wal")
    customer = models.ForeignKey("accounts.Customer", on_delete=models.PROTECT, related_name="wallets")
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    daily_limit = models.BigIntegerField(null=True, blank=True,
                                         help_text="Outgoing limit per UTC day; empty: no limit.")
    account = models.OneToOneField(LedgerAccount, on_delete=models.PROTECT, related_name="wallet")
    status_reason = models.CharField(max_length=500, blank=True)
    created = models.DateTimeField(db_index=True)  # Timestamped's, indexed: lists are newest first

    class Meta:
        ordering = ["-created"]
        indexes = [models.Index(fields=["-created", "-id"], name="wallet_created_idx")]
        constraints = [
            models.UniqueConstraint(fields=["customer", "currency"], name="wallet_customer_currency_uniq"),
        ]
        permissions = [
            ("freeze_wallet", "Can freeze and unfreeze wallets"),
            ("adjust_wallet", "Can adjust a wallet's balance against suspense"),
            ("transfer_funds", "Can transfer funds between wallets"),
            ("convert_funds", "Can convert funds between currencies"),
            ("withdraw_funds", "Can withdraw funds from a wallet"),
            ("topup_wallet", "Can top up a wallet"),
        ]

    def __str__(self):
        return f"{self.id} {self.currency}"

    @property
    def last_changed(self):
        """The wallet's `updated` as people and clients read it: the later of the wallet row's own
        changes (status, limit) and its account's (balance, holds)."""
        moved = self.account.updated
        return max(self.updated, moved) if moved is not None else self.updated


class ExchangeRate(models.Model):
    """A staff-entered rate: 1 unit of `base_currency` buys `rate` units of `quote_currency`.

    Rows are kept (history); the newest row with `valid_from` not in the future is used.
    """

    base_currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    quote_currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    rate = models.DecimalField(max_digits=24, decimal_places=10)
    source = models.CharField(max_length=100, help_text="Where the rate came from, e.g. 'ECB reference'.")
    valid_from = models.DateTimeField()
    created = models.DateTimeField()

    class Meta:
        ordering = ["-valid_from", "-id"]
        indexes = [models.Index(fields=["base_currency", "quote_currency", "-valid_from"], name="fx_pair_idx")]
        constraints = [models.CheckConstraint(condition=Q(rate__gt=0), name="fx_rate_positive")]

    def __str__(self):
        return f"{self.base_currency}/{self.quote_currency} {self.rate}"


class KycLimit(Timestamped, models.Model):
    """What a customer whose KYC is not verified may move out of a wallet per UTC day in one currency
    (staff-edited settings). A verified customer has no KYC limit (no row is read for them).

    Seeded by migration 0007 for every supported currency. Read through a per-process cache
    (`wallets.services.kyc`): a change applies in the saving process at once, in the others within
    `KYC_LIMITS_CACHE_SECONDS`. A status and currency without a row allows nothing (fail closed).
    """

    GATED_STATUSES = (Customer.KycStatus.UNVERIFIED, Customer.KycStatus.PENDING, Customer.KycStatus.REJECTED)

    kyc_status = models.CharField(max_length=16, choices=[(s.value, s.label) for s in GATED_STATUSES])
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    daily_outgoing_limit = models.BigIntegerField(
        null=True, blank=True,
        help_text=("Outgoing transfers and conversions per UTC day, in the currency; "
                   "empty: no limit, 0: none allowed."))
    daily_withdrawal_limit = models.BigIntegerField(
        null=True, blank=True, default=0,
        help_text="Withdrawals per UTC day, in the currency; empty: no limit, 0: none allowed.")

    class Meta:
        ordering = ["kyc_status", "currency"]
        verbose_name = "KYC limit"
        constraints = [
            models.UniqueConstraint(fields=["kyc_status", "currency"], name="kyclimit_status_currency_uniq"),
            models.CheckConstraint(condition=Q(daily_outgoing_limit__gte=0) | Q(daily_outgoing_limit__isnull=True),
                                   name="kyclimit_outgoing_nonnegative"),
            models.CheckConstraint(
                condition=Q(daily_withdrawal_limit__gte=0) | Q(daily_withdrawal_limit__isnull=True),
                name="kyclimit_withdrawal_nonnegative"),
        ]

    def __str__(self):
        return f"{self.kyc_status} {self.currency}"
