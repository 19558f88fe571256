"""Plans, subscriptions, invoices (with gapless numbers), billing runs, dunning settings.

Invariants that fit on a row are constraints here; the rest live in `services/`. The one
that makes billing safe to run twice at once: `invoice_one_per_period` (at most one
creation/cycle invoice per subscription and period start), enforced by the database.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from core.ids import PublicIdField
from core.models import Timestamped
from core.money import CURRENCY_CHOICES


class Plan(models.Model):
    class Interval(models.TextChoices):
        DAY = "day"
        WEEK = "week"
        MONTH = "month"
        YEAR = "year"

    id = PublicIdField(prefix="plan")
    name = models.CharField(max_length=200)
    amount = models.BigIntegerField(help_text="Price per unit per interval.")
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    interval = models.CharField(max_length=8, choices=Interval.choices)
    interval_count = models.PositiveIntegerField(default=1)
    trial_days = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True)
    metadata = models.JSONField(default=dict, blank=True)
    created = models.DateTimeField()

    class Meta:
        ordering = ["-created"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="plan_amount_nonneg"),
            models.CheckConstraint(condition=Q(interval_count__gte=1), name="plan_interval_count_pos"),
        ]

    def __str__(self):
        return f"{self.name} ({self.id})"


class Subscription(Timestamped):
    class Status(models.TextChoices):
        INCOMPLETE = "incomplete"
        INCOMPLETE_EXPIRED = "incomplete_expired"
        TRIALING = "trialing"
        ACTIVE = "active"
        PAST_DUE = "past_due"
        UNPAID = "unpaid"
        CANCELED = "canceled"
        PAUSED = "paused"

    id = PublicIdField(prefix="sub")
    customer = models.ForeignKey("accounts.Customer", on_delete=models.PROTECT, related_name="subscriptions")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    quantity = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=20, choices=Status.choices, db_index=True)
    billing_cycle_anchor = models.DateTimeField(help_text="Billing periods start at this moment plus whole intervals.")
    period_index = models.IntegerField(default=0, help_text="-1 during the trial, then 0, 1, 2...")
    current_period_start = models.DateTimeField()
    current_period_end = models.DateTimeField(db_index=True)
    trial_end = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    canceled_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    wallet_id = models.CharField(max_length=40, blank=True, default="",
                                 help_text="Default payment source: the customer's wallet (wal_)...")
    payment_method = models.CharField(max_length=64, blank=True, default="", help_text="...or a provider token.")
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created"]
        # The billing run's chunk query walks this in order and stops after a chunk: without `id`
        # (and with the statuses as three index ranges) every chunk sorted all due subscriptions that
        # share a period end, which most do (plans renew at midnight).
        indexes = [models.Index(fields=["current_period_end", "id"], name="sub_renewal_due_idx",
                                condition=Q(status__in=["active", "trialing", "past_due"]))]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="sub_quantity_pos"),
            models.CheckConstraint(condition=Q(current_period_end__gt=models.F("current_period_start")),
                                   name="sub_period_ordered"),
        ]

    def __str__(self):
        return self.id

    @property
    def currency(self) -> str:
        return self.plan.currency


class SubscriptionEvent(models.Model):
    """Append-only history of what a subscription was worth from `at` on: MRR analytics read it."""

    id = models.BigAutoField(primary_key=True)
    # db_index=False: subevent_history_idx (subscription, at, id) leads with it.
    subscription = models.ForeignKey(Subscription, on_delete=models.PROTECT, related_name="events", db_index=False)
    customer_id = models.CharField(max_length=40, db_index=True)
    kind = models.CharField(max_length=32)
    status = models.CharField(max_length=20)
    plan_id = models.CharField(max_length=40)
    quantity = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    mrr = models.BigIntegerField(help_text="Monthly recurring revenue from this moment on (0 when not paying).")
    at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            # Each subscription's history in order (the MRR replay's LAG over the subscription, overview page):
            # read in that order from the index alone on PostgreSQL instead of sorting the whole history.
            models.Index(fields=["subscription", "at", "id"], include=["currency", "mrr", "status"],
                         name="subevent_history_idx"),
        ]

    def __str__(self):
        return f"{self.subscription_id} {self.kind} @ {self.at:%Y-%m-%d}"


class InvoiceSequence(models.Model):
    """One counter row per UTC year: numbers are taken under its lock at finalisation, so gapless."""

    year = models.PositiveIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"{self.year}: {self.last}"


class Invoice(Timestamped):
    class Status(models.TextChoices):
        DRAFT = "draft"
        OPEN = "open"
        PAID = "paid"
        VOID = "void"
        UNCOLLECTIBLE = "uncollectible"

    class Reason(models.TextChoices):
        CREATE = "subscription_create"
        CYCLE = "subscription_cycle"
        UPDATE = "subscription_update"
        RESUME = "subscription_resume"

    id = PublicIdField(prefix="inv")
    number = models.CharField(max_length=20, null=True, blank=True, unique=True)
    subscription = models.ForeignKey(Subscription, on_delete=models.PROTECT, related_name="invoices")
    customer = models.ForeignKey("accounts.Customer", on_delete=models.PROTECT, related_name="invoices")
    status = models.CharField(max_length=16, choices=Status.choices, db_index=True)
    billing_reason = models.CharField(max_length=24, choices=Reason.choices)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    subtotal = models.BigIntegerField(default=0)
    total = models.BigIntegerField(default=0)
    amount_paid = models.BigIntegerField(default=0)
    due_date = models.DateTimeField(null=True, blank=True)
    attempt_count = models.PositiveIntegerField(default=0)
    first_failed_at = models.DateTimeField(null=True, blank=True)
    next_payment_attempt = models.DateTimeField(null=True, blank=True, db_index=True)
    last_failure_code = models.CharField(max_length=64, blank=True, default="")
    payment_id = models.CharField(max_length=40, blank=True, default="")
    finalized_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        constraints = [
            models.UniqueConstraint(fields=["subscription", "period_start"],
                                    condition=Q(billing_reason__in=["subscription_create", "subscription_cycle",
                                                                    "subscription_resume"]),
                                    name="invoice_one_per_period"),
            models.CheckConstraint(condition=Q(total__gte=0), name="invoice_total_nonneg"),
            models.CheckConstraint(condition=Q(status="draft") | Q(number__isnull=False),
                                   name="invoice_number_when_final"),
        ]
        # `id` ends the index so the collection chunk (ORDER BY next_payment_attempt, id) reads a chunk
        # and stops, instead of sorting every invoice due at the same moment.
        indexes = [models.Index(fields=["status", "next_payment_attempt", "id"], name="inv_collect_idx")]

    def __str__(self):
        return self.number or self.id


class InvoiceLine(models.Model):
    """A line of an invoice; with `invoice` empty it is a pending item for the next invoice."""

    id = models.BigAutoField(primary_key=True)
    subscription = models.ForeignKey(Subscription, on_delete=models.PROTECT, related_name="lines")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="lines", null=True, blank=True)
    description = models.CharField(max_length=300)
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    quantity = models.PositiveIntegerField(default=1)
    unit_amount = models.BigIntegerField(help_text="Price per unit for the whole period.")
    amount = models.BigIntegerField(help_text="Signed; negative for credits.")
    currency = models.CharField(max_length=3)
    proration = models.BooleanField(default=False)
    plan_id = models.CharField(max_length=40, blank=True, default="")
    created = models.DateTimeField()

    class Meta:
        ordering = ["created", "id"]

    def __str__(self):
        return self.description


class InvoiceAttempt(models.Model):
    """One collection attempt: written before the charge, settled after, so a crash is recoverable."""

    class Status(models.TextChoices):
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    id = PublicIdField(prefix="iat")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="attempts")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=12, choices=Status.choices)
    payment_id = models.CharField(max_length=40, blank=True, default="")
    failure_code = models.CharField(max_length=64, blank=True, default="")
    failure_message = models.CharField(max_length=300, blank=True, default="")
    hard_decline = models.BooleanField(default=False)
    created = models.DateTimeField()
    settled = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created", "id"]
        constraints = [models.UniqueConstraint(fields=["invoice", "number"], name="invoice_attempt_number_uniq")]

    def __str__(self):
        return f"{self.invoice_id} #{self.number} {self.status}"


class Notification(models.Model):
    id = models.BigAutoField(primary_key=True)
    subscription = models.ForeignKey(Subscription, on_delete=models.PROTECT, related_name="notifications")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, null=True, blank=True)
    kind = models.CharField(max_length=40)
    to = models.EmailField()
    subject = models.CharField(max_length=200)
    body = models.TextField()
    created = models.DateTimeField()
    sent = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created", "id"]

    def __str__(self):
        return f"{self.kind} to {self.to}"


class DunningSettings(models.Model):
    """Staff-editable retry schedule; each save is a new row (history), the newest is in force."""

    class FinalAction(models.TextChoices):
        UNPAID = "unpaid"
        CANCELED = "canceled"
        PAST_DUE = "past_due"

    id = models.BigAutoField(primary_key=True)
    retry_days = models.JSONField(default=list, help_text="Days after the first failure, e.g. [1, 3, 7, 14].")
    final_action = models.CharField(max_length=12, choices=FinalAction.choices, default=FinalAction.UNPAID)
    mark_uncollectible = models.BooleanField(default=False, help_text="Mark the invoice uncollectible at the end.")
    notify_customers = models.BooleanField(default=True)
    note = models.CharField(max_length=200, blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    created = models.DateTimeField()

    class Meta:
        ordering = ["-created", "-id"]
        verbose_name_plural = "dunning settings"

    def __str__(self):
        return f"{self.retry_days} then {self.final_action}"


class BillingRun(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    id = PublicIdField(prefix="brun")
    as_of = models.DateTimeField()
    status = models.CharField(max_length=12, choices=Status.choices)
    started = models.DateTimeField()
    finished = models.DateTimeField(null=True, blank=True)
    chunks = models.PositiveIntegerField(default=0)
    renewed = models.PositiveIntegerField(default=0)
    invoices_created = models.PositiveIntegerField(default=0)
    payments_attempted = models.PositiveIntegerField(default=0)
    payments_succeeded = models.PositiveIntegerField(default=0)
    payments_failed = models.PositiveIntegerField(default=0)
    canceled = models.PositiveIntegerField(default=0)
    expired = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    error_details = models.JSONField(default=list, blank=True)
    triggered_by = models.CharField(max_length=80, blank=True, default="")

    class Meta:
        ordering = ["-started"]

    def __str__(self):
        return f"{self.id} ({self.status})"


class ChurnModel(models.Model):
    """A trained churn classifier with its held-out metrics (the booster is kept as JSON)."""

    id = models.BigAutoField(primary_key=True)
    version = models.CharField(max_length=40)
    trained_at = models.DateTimeField()
    train_cutoff = models.DateTimeField()
    eval_cutoff = models.DateTimeField()
    n_train = models.PositiveIntegerField()
    n_eval = models.PositiveIntegerField()
    metrics = models.JSONField(default=dict)
    features = models.JSONField(default=list)
    booster = models.TextField()

    class Meta:
        ordering = ["-trained_at", "-id"]

    def __str__(self):
        return self.version


class MrrMonth(models.Model):
    """One closed month's MRR movements per currency, as `subscription_analytics` defines them, stored by
    `subscriptions.mrr_rollup.mrr_months_refresh` from the history so a page reads them instead of
    replaying it; `customers_end` and `keys_end` give the next month its start."""

    month = models.DateField(help_text="First day of the month (UTC).")
    currency = models.CharField(max_length=3)
    mrr_start = models.BigIntegerField()
    mrr_end = models.BigIntegerField()
    customers_start = models.PositiveIntegerField(help_text="Paying customers at the month's start.")
    customers_end = models.PositiveIntegerField()
    keys_end = models.PositiveIntegerField(help_text="Customers with a subscription in any status at the end.")
    new = models.BigIntegerField()
    reactivation = models.BigIntegerField()
    expansion = models.BigIntegerField()
    contraction = models.BigIntegerField()
    churn = models.BigIntegerField()
    customers_churned = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["month", "currency"], name="mrr_month_unique")]

    def __str__(self):
        return f"{self.month:%Y-%m} {self.currency}: MRR {self.mrr_start} -> {self.mrr_end}"


class MrrRollup(models.Model):
    """When the MRR months were last stored: every month before `through` is in `MrrMonth` (one row, id 1)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    refreshed_at = models.DateTimeField()
    through = models.DateField(help_text="First day of the first month not stored (the refresh's own month).")

    def __str__(self):
        return f"MRR months before {self.through:%Y-%m}, refreshed {self.refreshed_at:%Y-%m-%d %H:%M}"


class ChurnScore(models.Model):
    """A paying subscription's churn score by one churn model, with its top reasons, stored by the scoring job
    (`subscriptions.churn.score_paying`, hourly and as soon as a model becomes active) so the at-risk lists read
    the riskiest instead of scoring the whole paying base per request."""

    model = models.ForeignKey("core.MLModel", on_delete=models.CASCADE, related_name="churn_scores")
    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="churn_scores")
    customer_id = models.CharField(max_length=40)
    currency = models.CharField(max_length=3)
    score = models.FloatField()
    reasons = models.JSONField(default=list)
    scored_at = models.DateTimeField(help_text="The moment the features were read.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["model", "subscription"], name="churn_score_unique")]
        indexes = [models.Index(fields=["model", "-score"], name="churn_score_rank_idx")]

    def __str__(self):
        return f"{self.subscription_id} {self.score:.4f}"
