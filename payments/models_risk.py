"""Staff-editable risk settings (one row): the score thresholds that turn a model score into a decision;
staff rules; and the record of each retraining of the fraud model."""

from django.db import models

from core.ids import PublicIdField
from core.models import ActorStamped, Timestamped


class RiskThresholds(models.Model):
    """Model scores are 0-100 (the fraud probability in percent). At or above `review_at` a payment is held
    for review; at or above `block_at` it is blocked. Saved through `risk_thresholds_save`."""

    review_at = models.PositiveSmallIntegerField(default=50)
    block_at = models.PositiveSmallIntegerField(default=90)
    updated = models.DateTimeField(null=True, blank=True)
    updated_by = models.CharField(max_length=200, blank=True)

    class Meta:
        app_label = "payments"
        verbose_name = "risk thresholds"
        verbose_name_plural = "risk thresholds"
        constraints = [models.CheckConstraint(condition=models.Q(review_at__lt=models.F("block_at"))
                                              & models.Q(block_at__lte=100), name="risk_thresholds_ordered")]

    def __str__(self):
        return f"review at {self.review_at}, block at {self.block_at}"


class RiskRule(models.Model):
    """A staff rule beside the model: when its condition holds (or the payment's field is on its block list)
    the payment is held for review or blocked, and the rule's name is recorded with the payment.
    Saved through `risk_rule_save`, which validates the condition."""

    class Kind(models.TextChoices):
        CONDITION = "condition"
        BLOCK_LIST = "block_list"

    class Action(models.TextChoices):
        REVIEW = "review"
        BLOCK = "block"

    class Field(models.TextChoices):
        DEVICE = "device_id"
        CUSTOMER = "customer_id"
        CARD = "card_fingerprint", "card fingerprint (the payment method token)"
        IP_COUNTRY = "ip_country"
        CARD_COUNTRY = "card_country"

    name = models.SlugField(max_length=60, unique=True)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.CONDITION)
    action = models.CharField(max_length=8, choices=Action.choices, default=Action.REVIEW)
    condition = models.CharField(
        max_length=500, blank=True,
        help_text="e.g. card_country != ip_country and amount > 500; the risk guide lists the names.")
    field = models.CharField(max_length=20, choices=Field.choices, blank=True, help_text="Block lists: the field.")
    values = models.JSONField(default=list, blank=True, help_text="Block lists: the listed values.")
    enabled = models.BooleanField(default=True)
    created = models.DateTimeField(null=True, blank=True)
    updated = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "payments"
        ordering = ["name"]

    def __str__(self):
        return self.name


class FraudTrainingRun(ActorStamped, Timestamped):
    """One retraining of the fraud model (the weekly beat job or the admin's "Train a candidate now"):
    its progress while it runs, then the candidate it registered and the promotion rule's verdict.
    Run by `fraud_training_run` (payments/risk/training.py)."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule"
        STAFF = "staff"

    id = PublicIdField(prefix="ftr")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    trigger = models.CharField(max_length=10, choices=Trigger.choices)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done.")
    log = models.JSONField(default=list, blank=True, help_text="Each step with its time, as it happened.")
    stored_rows = models.PositiveIntegerField(default=0, help_text="Stored payments read (the training window).")
    labelled_rows = models.PositiveIntegerField(default=0, help_text="Of those, with a known fraud label.")
    simulated_rows = models.PositiveIntegerField(default=0, help_text="Simulated rows added while labels are few.")
    model = models.ForeignKey("core.MLModel", null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+", help_text="The candidate this run registered.")
    promoted = models.BooleanField(null=True, blank=True, help_text="Whether the promotion rule made it active.")
    reason = models.CharField(max_length=300, blank=True, help_text="The promotion rule's reason, or the failure.")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "payments"
        ordering = ["-created"]
        verbose_name = "fraud model training run"

    def __str__(self):
        return f"{self.id} ({self.status})"


class MerchantLabelDay(models.Model):
    """A merchant's labelled payments (`Payment.fraud_label` set), counted per UTC day of the payments' creation.

    Database triggers on `payments_payment` keep it (migration 0016, both databases), in the transaction of the
    write that sets, changes or clears a label, whichever door made it (the ORM, a bulk insert, COPY, raw SQL).
    The fraud score reads a merchant's label counts from these days and the payments of one day, so that they
    cost the merchant's days rather than its labels (payments/risk/online.py). Nothing else writes it."""

    merchant_reference = models.CharField(max_length=120)
    day = models.DateField()
    labelled = models.IntegerField(default=0)
    fraud = models.IntegerField(default=0)

    class Meta:
        app_label = "payments"
        constraints = [models.UniqueConstraint(fields=["merchant_reference", "day"], name="merchant_label_day_uniq")]

    def __str__(self):
        return f"{self.merchant_reference} {self.day}: {self.fraud} of {self.labelled}"
