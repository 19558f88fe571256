from django.contrib.auth.models import AbstractUser
from django.db import models

from core.ids import PublicIdField
from core.models import ActorStamped, Timestamped


class User(AbstractUser):
    """Staff user. Custom from the first migration so fields can be added later."""

    class Meta:
        permissions = [("manage_api_keys", "Can create and revoke API keys for any user")]


class LoginThrottle(models.Model):
    """Failed password and second-factor attempts per username (existing or not)."""

    username = models.CharField(max_length=150, unique=True)
    failures = models.PositiveIntegerField(default=0)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return self.username


class Customer(Timestamped, models.Model):
    """An end customer of the merchant (not a staff user)."""

    class Status(models.TextChoices):
        ACTIVE = "active"
        BLOCKED = "blocked"
        CLOSED = "closed"

    class KycStatus(models.TextChoices):
        UNVERIFIED = "unverified"
        PENDING = "pending"
        VERIFIED = "verified"
        REJECTED = "rejected"

    id = PublicIdField(prefix="cus")
    email = models.EmailField(db_index=True)
    name = models.CharField(max_length=200, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="Two-letter country code, e.g. DE.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    kyc_status = models.CharField(max_length=16, choices=KycStatus.choices, default=KycStatus.UNVERIFIED)
    metadata = models.JSONField(default=dict, blank=True)
    created = models.DateTimeField(db_index=True)  # Timestamped's, indexed: lists are newest first

    class Meta:
        ordering = ["-created"]
        indexes = [models.Index(fields=["-created", "-id"], name="customer_created_idx")]
        permissions = [("change_customer_kyc", "Can change a customer's KYC status")]

    def __str__(self):
        return f"{self.name or self.email} ({self.id})"


class KycReview(ActorStamped, models.Model):
    """One change of a customer's KYC status, with the reviewer's note and evidence (history: never edited)."""

    id = models.BigAutoField(primary_key=True)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="kyc_reviews")
    from_status = models.CharField(max_length=16, choices=Customer.KycStatus.choices)
    to_status = models.CharField(max_length=16, choices=Customer.KycStatus.choices)
    note = models.CharField(max_length=1000)
    evidence_reference = models.CharField(max_length=200, blank=True,
                                          help_text="Where the evidence is kept, e.g. a case or document id.")
    created = models.DateTimeField()

    class Meta:
        ordering = ["-created", "-id"]
        verbose_name = "KYC review"
        indexes = [models.Index(fields=["customer", "-created"], name="kycreview_customer_idx")]

    def __str__(self):
        return f"{self.customer_id} {self.from_status} -> {self.to_status}"


class ApiKey(models.Model):
    """A machine credential. Only an HMAC of the secret is stored; the key is shown once."""

    id = PublicIdField(prefix="key")
    prefix = models.CharField(max_length=24, unique=True,
                              help_text="The start of the key, shown in lists and logs; the rest is never stored.")
    secret_hash = models.CharField(max_length=64)
    owner = models.ForeignKey(User, on_delete=models.PROTECT, related_name="api_keys")
    name = models.CharField(max_length=100)
    scopes = models.JSONField(default=list)
    created = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    rate_limit = models.CharField(max_length=20, blank=True,
                                  help_text="Override of the default rate, e.g. '600/min'. Blank: the default.")
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", null=True, blank=True)

    class Meta:
        verbose_name = "API key"
        ordering = ["-created"]
        permissions = [("revoke_apikey", "Can revoke API keys")]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None
