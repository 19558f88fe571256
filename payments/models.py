"""Payments, their provider attempts, refunds, routing, webhooks, reconciliation and fees.

Amounts are integer minor units of `currency`. Ledger entries and wallets are referenced by
their public ids (strings), not foreign keys: the ledger is append-only and owned by `wallets`.
"""

from django.db import models
from django.db.models import F, Q

from core.ids import PublicIdField
from core.models import ActorStamped, Timestamped
from core.money import CURRENCY_CHOICES, CURRENCY_EXPONENTS, format_amount


class Payment(ActorStamped, Timestamped):
    class Status(models.TextChoices):
        REQUIRES_PAYMENT_METHOD = "requires_payment_method"
        REQUIRES_CONFIRMATION = "requires_confirmation"
        PROCESSING = "processing"
        REQUIRES_CAPTURE = "requires_capture"
        SUCCEEDED = "succeeded"
        CANCELED = "canceled"
        FAILED = "failed"
        UNKNOWN = "unknown"

    class Method(models.TextChoices):
        CARD = "card"
        WALLET = "wallet"
        BANK_TRANSFER = "bank_transfer"
        UPI = "upi"

    class CaptureMethod(models.TextChoices):
        AUTOMATIC = "automatic"
        MANUAL = "manual"

    class Review(models.TextChoices):
        NONE = "none"
        PENDING = "pending"
        APPROVED = "approved"
        REJECTED = "rejected"

    id = PublicIdField(prefix="pay")
    # No index of its own: payment_customer_idx (customer, -created) serves every lookup by customer, and each
    # index is written again when a payment's status changes (docs/PERFORMANCE.md).
    customer = models.ForeignKey("accounts.Customer", on_delete=models.PROTECT, related_name="payments",
                                 db_index=False)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    method = models.CharField(max_length=16, choices=Method.choices)
    payment_method = models.CharField(max_length=64, help_text="Provider token or wal_ id; never a card number.")
    card_brand = models.CharField(max_length=20, blank=True)
    card_country = models.CharField(max_length=2, blank=True)
    card_last4 = models.CharField(max_length=4, blank=True)
    capture_method = models.CharField(max_length=10, choices=CaptureMethod.choices, default=CaptureMethod.AUTOMATIC)
    # Indexed by payment_status_auth_idx (status, authorised_at), which leads with it.
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.REQUIRES_CONFIRMATION)
    amount_capturable = models.BigIntegerField(default=0)
    amount_captured = models.BigIntegerField(default=0)
    amount_refunded = models.BigIntegerField(default=0, help_text="Sum of non-failed refunds.")
    fee_amount = models.BigIntegerField(default=0)
    fee_refunded = models.BigIntegerField(default=0)
    provider = models.CharField(max_length=40, blank=True, db_index=True)
    provider_reference = models.CharField(max_length=120, blank=True, db_index=True)
    failure_code = models.CharField(max_length=60, blank=True)
    failure_message = models.CharField(max_length=300, blank=True)
    risk_score = models.PositiveSmallIntegerField(null=True, blank=True)
    risk_level = models.CharField(max_length=16, blank=True)
    risk_decision = models.CharField(max_length=16, blank=True)
    risk_model_version = models.CharField(max_length=40, blank=True)
    risk_reasons = models.JSONField(default=list, blank=True)
    risk_explanation = models.JSONField(default=list, blank=True,
                                        help_text="Features that pushed the model's score most, in words.")
    risk_rules_fired = models.JSONField(default=list, blank=True)
    fraud_label = models.BooleanField(null=True, blank=True,
                                      help_text="Known outcome: fraud (true), legitimate (false), unknown (empty).")
    review_status = models.CharField(max_length=10, choices=Review.choices, default=Review.NONE)
    description = models.CharField(max_length=500, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    device_id = models.CharField(max_length=120, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    ip_country = models.CharField(max_length=2, blank=True, help_text="Country of the IP address, when known.")
    channel = models.CharField(max_length=8, blank=True)
    merchant_reference = models.CharField(max_length=120, blank=True)
    # Indexed for top-ups only (payment_topup_wallet_idx): the other payments leave it blank.
    wallet_id = models.CharField(max_length=40, blank=True,
                                 help_text="Top-ups: the wallet this payment credits on success.")
    hold_id = models.CharField(max_length=40, blank=True, help_text="Wallet payments: the ledger hold.")
    capture_entry_id = models.CharField(max_length=40, blank=True)
    authorised_at = models.DateTimeField(null=True, blank=True)
    captured_at = models.DateTimeField(null=True, blank=True)
    canceled_at = models.DateTimeField(null=True, blank=True)
    cancellation_reason = models.CharField(max_length=40, blank=True)
    created = models.DateTimeField()  # Timestamped's; payment_created_cover_idx indexes it

    class Meta:
        ordering = ["-created"]
        indexes = [
            # Lists newest first (read backwards: created, then id, descending, as lists and cursors order them)
            # and the dashboards' scans of a period (customers' RFM, fraud decisions and scores), read from the
            # index alone on PostgreSQL: what they group and sum is included. One index for both, because every
            # payment writes each of its indexes twice (created, then its outcome: not a HOT update).
            models.Index(fields=["created", "id"], include=["status", "customer", "currency", "amount_captured",
                                                            "risk_decision", "risk_score", "risk_model_version"],
                         name="payment_created_cover_idx"),
            models.Index(fields=["customer", "-created"], name="payment_customer_idx"),
            models.Index(fields=["status", "authorised_at"], name="payment_status_auth_idx"),
            models.Index(fields=["merchant_reference", "created"], name="payment_merchant_idx"),
            # The merchant's label counts of every scored payment (payments/risk/online.py), read from the
            # index alone on PostgreSQL; only labelled payments (reviewed, disputed) are in it.
            models.Index(fields=["merchant_reference", "created"], include=["fraud_label", "id"],
                         condition=Q(fraud_label__isnull=False), name="payment_merchant_label_idx"),
            # The changelist's risk decision filter: its options read by skipping through this index
            # (core.admin_base.IndexedValuesFilter), the filtered list newest first.
            models.Index(fields=["risk_decision", "-created"], name="payment_risk_decision_idx"),
            # The review queue's count on every dashboard: only the few payments awaiting review.
            models.Index(fields=["created"], condition=Q(review_status="pending"), name="payment_review_pending_idx"),
            # Revenue by capture time (monitoring revenue page): a period's captured payments read from
            # the index alone on PostgreSQL (the amounts and the groupings are included).
            models.Index(fields=["captured_at"], include=["currency", "amount_captured", "fee_amount", "method",
                                                          "provider"],
                         condition=Q(amount_captured__gt=0), name="payment_captured_at_idx"),
            # A wallet's top-ups; the payments that are not one (nearly all) write nothing to it.
            models.Index(fields=["wallet_id"], condition=~Q(wallet_id=""), name="payment_topup_wallet_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(condition=Q(amount_captured__gte=0) & Q(amount_captured__lte=F("amount")),
                                   name="payment_captured_within_amount"),
            models.CheckConstraint(condition=Q(amount_capturable__gte=0) & Q(amount_capturable__lte=F("amount")),
                                   name="payment_capturable_within_amount"),
            models.CheckConstraint(condition=Q(amount_refunded__gte=0)
                                   & Q(amount_refunded__lte=F("amount_captured")),
                                   name="payment_refunded_within_captured"),
        ]
        permissions = [
            ("capture_payment", "Can capture payments"),
            ("cancel_payment", "Can cancel payments"),
            ("refund_payment", "Can refund payments"),
            ("verify_payment", "Can verify payments with the provider"),
            ("review_payment", "Can review payments held by risk"),
        ]

    def __str__(self):
        return f"{self.id} {self.status}"

    @property
    def amount_refundable(self) -> int:
        return self.amount_captured - self.amount_refunded


class PaymentAttempt(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        AUTHORISED = "authorised"
        CAPTURED = "captured"
        DECLINED = "declined"
        UNREACHABLE = "unreachable"
        UNKNOWN = "unknown"

    id = PublicIdField(prefix="att")
    # Indexed by attempt_payment_seq_uniq (payment, sequence), which leads with it.
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="attempts", db_index=False)
    sequence = models.PositiveSmallIntegerField()
    provider = models.CharField(max_length=40)
    reason = models.JSONField(default=dict, blank=True, help_text="Why this provider was chosen.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    decline_code = models.CharField(max_length=60, blank=True)
    decline_message = models.CharField(max_length=300, blank=True)
    provider_reference = models.CharField(max_length=120, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    created = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["payment", "sequence"]
        constraints = [models.UniqueConstraint(fields=["payment", "sequence"], name="attempt_payment_seq_uniq")]
        indexes = [
            # Provider performance over a period (payments dashboard): the period's attempts from the index
            # alone on PostgreSQL instead of a scan of every attempt.
            models.Index(fields=["created"], include=["provider", "status", "latency_ms", "id"],
                         name="attempt_created_idx"),
        ]

    def __str__(self):
        return f"{self.id} {self.provider} {self.status}"


class Refund(ActorStamped, Timestamped):
    class Status(models.TextChoices):
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    class Reason(models.TextChoices):
        DUPLICATE = "duplicate"
        FRAUDULENT = "fraudulent"
        REQUESTED_BY_CUSTOMER = "requested_by_customer"
        OTHER = "other"

    id = PublicIdField(prefix="re")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    reason = models.CharField(max_length=24, choices=Reason.choices)
    note = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    failure_reason = models.CharField(max_length=120, blank=True)
    provider_reference = models.CharField(max_length=120, blank=True)
    entry_id = models.CharField(max_length=40, blank=True, help_text="Ledger entry (txn_) of this refund.")
    fee_returned = models.BigIntegerField(default=0)
    created = models.DateTimeField(db_index=True)  # Timestamped's, indexed

    class Meta:
        ordering = ["-created"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive")]

    def __str__(self):
        return f"{self.id} {self.status}"


class RoutingRule(Timestamped):
    """Staff-editable: which providers may serve a currency and method, in priority order."""

    name = models.CharField(max_length=100)
    priority = models.PositiveSmallIntegerField(default=100, help_text="Lower wins when several rules match.")
    currency = models.CharField(max_length=3, blank=True, help_text="Blank matches every currency.")
    method = models.CharField(max_length=16, blank=True, choices=Payment.Method.choices,
                              help_text="Blank matches every method.")
    allowed_providers = models.JSONField(default=list, help_text="Provider names, most preferred first.")
    disabled_providers = models.JSONField(default=list, blank=True)
    learning = models.BooleanField(default=True, help_text="Choose among allowed providers by observed outcomes.")
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["priority", "id"]

    def __str__(self):
        return self.name


class ProviderStat(models.Model):
    """Outcomes per provider, currency and hour: the rolling window routing learns from."""

    provider = models.CharField(max_length=40)
    currency = models.CharField(max_length=3)
    bucket = models.DateTimeField(help_text="Start of the hour (UTC).")
    attempts = models.PositiveIntegerField(default=0)
    successes = models.PositiveIntegerField(default=0)
    latency_ms_total = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["-bucket", "provider"]
        constraints = [models.UniqueConstraint(fields=["provider", "currency", "bucket"],
                                               name="providerstat_bucket_uniq")]

    def __str__(self):
        return f"{self.provider} {self.currency} {self.bucket:%Y-%m-%d %H}h"


class WebhookEvent(models.Model):
    class Status(models.TextChoices):
        RECEIVED = "received"
        PROCESSED = "processed"
        IGNORED = "ignored"
        FAILED = "failed"

    id = PublicIdField(prefix="evt")
    provider = models.CharField(max_length=40)
    provider_event_id = models.CharField(max_length=120)
    type = models.CharField(max_length=80)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    payment_id = models.CharField(max_length=40, blank=True, db_index=True)
    received_at = models.DateTimeField(db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [models.UniqueConstraint(fields=["provider", "provider_event_id"],
                                               name="webhook_provider_event_uniq")]
        permissions = [("retry_webhookevent", "Can retry failed webhook events")]

    def __str__(self):
        return f"{self.provider} {self.provider_event_id} {self.type}"


class ReconciliationMismatch(models.Model):
    class Kind(models.TextChoices):
        STATUS = "status_mismatch"
        AMOUNT = "amount_mismatch"
        MISSING_AT_PROVIDER = "missing_at_provider"
        LEDGER = "ledger_mismatch"

    class Status(models.TextChoices):
        OPEN = "open"
        RESOLVED = "resolved"

    id = PublicIdField(prefix="rcm")
    run_date = models.DateField(db_index=True)
    kind = models.CharField(max_length=24, choices=Kind.choices)
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="mismatches")
    provider = models.CharField(max_length=40, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    subject = models.CharField(max_length=80, help_text="What was checked: the payment id, or provider:currency.")
    expected = models.JSONField(default=dict)
    actual = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    resolution_note = models.CharField(max_length=500, blank=True)
    resolved_by = models.CharField(max_length=200, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField()

    class Meta:
        ordering = ["-created"]
        verbose_name_plural = "reconciliation mismatches"
        constraints = [models.UniqueConstraint(fields=["run_date", "kind", "subject"], name="recon_mismatch_uniq")]
        permissions = [("resolve_reconciliationmismatch", "Can resolve reconciliation mismatches")]

    def __str__(self):
        return f"{self.run_date} {self.kind} {self.payment_id or self.provider}"


class FeeSchedule(Timestamped):
    """Provider fees per currency: percent (basis points) plus a fixed amount in minor units."""

    provider = models.CharField(max_length=40)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    percent_bps = models.PositiveIntegerField(default=0, help_text="In basis points: 290 is 2.90%.")
    fixed_amount = models.BigIntegerField(default=0, help_text="Charged per payment on top of the percentage.")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["provider", "currency"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "currency"], name="feeschedule_provider_currency_uniq"),
            models.CheckConstraint(condition=Q(fixed_amount__gte=0), name="feeschedule_fixed_nonnegative"),
        ]

    def __str__(self):
        fixed = (format_amount(self.fixed_amount, self.currency) if self.currency in CURRENCY_EXPONENTS
                 and self.fixed_amount is not None else self.fixed_amount)
        return f"{self.provider} {self.currency} {(self.percent_bps or 0) / 100:.2f}% + {fixed} {self.currency}"
from .models_risk import FraudTrainingRun, MerchantLabelDay, RiskRule, RiskThresholds  # noqa: E402,F401
from .models_sandbox import SandboxCharge  # noqa: E402,F401
