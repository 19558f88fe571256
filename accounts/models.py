import hashlib
import hmac
import os
import re
import time
from base64 import b32encode
from binascii import unhexlify
from urllib.parse import quote, urlencode

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django_otp.models import Device, ThrottlingMixin, TimestampMixin
from django_otp.oath import TOTP
from django_otp.util import hex_validator, random_hex

from core.crypto import EncryptedTextField
from core.ids import PublicIdField
from core.models import ActorStamped, Timestamped


# The second-factor devices below get their `user` from django-otp (untyped): mypy cannot name the reverse managers.
class User(AbstractUser):  # type: ignore[django-manager-missing]
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


# --- The second factor: our own django-otp devices, secrets unreadable at rest ------------------------
# django-otp's own TOTPDevice and StaticToken keep the TOTP seed and the backup codes in clear
# (issue 15, secrets at rest). These devices keep django-otp's behaviour (its Device, ThrottlingMixin,
# TimestampMixin and TOTPDevice's verification: drift, throttling, last_t replay protection) and store
# the seed encrypted (`core.crypto`) and each backup code only as a keyed hash.


def default_key() -> str:
    return random_hex(20)  # django-otp's default: 20 random bytes


def key_validator(value: str) -> None:
    hex_validator()(value)


def _failure_timestamp():
    # ThrottlingMixin's field, its help text for staff.
    return models.DateTimeField(null=True, blank=True, default=None,
                                help_text="When the last code was refused; empty after a success.")


class StaffTOTPDevice(TimestampMixin, ThrottlingMixin, Device):
    """An authenticator app (TOTP) of a staff user. `key` is the hex seed in memory and AES-256-GCM
    ciphertext in the database (`FIELD_ENCRYPTION_KEYS`, re-encrypted by `rotate_field_keys`)."""

    key = EncryptedTextField(validators=[key_validator], default=default_key,
                             help_text="The hex-encoded TOTP seed, stored encrypted.")
    step = models.PositiveSmallIntegerField(default=30, help_text="The time step in seconds.")
    t0 = models.BigIntegerField(default=0, help_text="The Unix time at which to begin counting steps.")
    digits = models.PositiveSmallIntegerField(choices=[(6, 6), (8, 8)], default=6,
                                              help_text="The number of digits to expect in a token.")
    tolerance = models.PositiveSmallIntegerField(
        default=1, help_text="The number of time steps in the past or future to allow.")
    drift = models.SmallIntegerField(
        default=0, help_text="The number of time steps the prover is known to deviate from our clock.")
    throttling_failure_timestamp = _failure_timestamp()
    last_t = models.BigIntegerField(
        default=-1, help_text="The t value of the latest verified token. The next token must be at a higher "
                              "time step.")

    class Meta(Device.Meta):
        verbose_name = "authenticator app (TOTP)"
        verbose_name_plural = "authenticator apps (TOTP)"

    @property
    def bin_key(self) -> bytes:
        return unhexlify(self.key.encode())

    def totp(self) -> TOTP:
        """django-otp's TOTP for this device now (its drift included)."""
        totp = TOTP(self.bin_key, self.step, self.t0, self.digits, self.drift)
        totp.time = time.time()
        return totp

    def verify_token(self, token):
        """django-otp's TOTPDevice.verify_token: throttled, within `tolerance` steps, only a step after
        `last_t` (a code is never accepted twice), drift followed when OTP_TOTP_SYNC."""
        verify_allowed, _ = self.verify_is_allowed()
        if not verify_allowed:
            return False
        try:
            token = int(token)
        except (TypeError, ValueError):
            verified = False
        else:
            totp = self.totp()
            verified = totp.verify(token, self.tolerance, self.last_t + 1)
            if verified:
                self.last_t = totp.t()
                if getattr(settings, "OTP_TOTP_SYNC", True):
                    self.drift = totp.drift
                self.throttle_reset(commit=False)
                self.set_last_used_timestamp(commit=False)
                # The counters only: the seed is not rewritten (re-encrypted) at every login.
                self.save(update_fields=["last_t", "drift", "throttling_failure_count",
                                         "throttling_failure_timestamp", "last_used_at"])
        if not verified:
            self.throttle_increment(commit=True)
        return verified

    def get_throttle_factor(self):
        return getattr(settings, "OTP_TOTP_THROTTLE_FACTOR", 1)

    @property
    def config_url(self) -> str:
        """The otpauth:// URI an authenticator app scans (issuer from OTP_TOTP_ISSUER, as django-otp)."""
        label = str(self.user.get_username())
        params = urlencode({"secret": b32encode(self.bin_key), "algorithm": "SHA1", "digits": self.digits,
                            "period": self.step})
        issuer = getattr(settings, "OTP_TOTP_ISSUER", None)
        if callable(issuer):
            issuer = issuer(self)
        if isinstance(issuer, str) and issuer:
            issuer = issuer.replace(":", "")
            label = f"{issuer}:{label}"
            params += f"&issuer={quote(issuer)}"
        return f"otpauth://totp/{quote(label)}?{params}"


class BackupCodeDevice(TimestampMixin, ThrottlingMixin, Device):
    """A staff user's single-use backup codes (django-otp's StaticDevice, with the codes hashed)."""

    throttling_failure_timestamp = _failure_timestamp()

    class Meta(Device.Meta):
        verbose_name = "backup code set"
        verbose_name_plural = "backup codes"

    def get_throttle_factor(self):
        return getattr(settings, "OTP_STATIC_THROTTLE_FACTOR", 1)

    def verify_token(self, token):
        """As django-otp's StaticDevice: a matching code is consumed (deleted), a wrong one throttles."""
        verify_allowed, _ = self.verify_is_allowed()
        if not verify_allowed:
            return False
        match = self.codes.filter(digest=backup_code_digest(str(token))).first()
        if match is None:
            self.throttle_increment()
            return False
        match.delete()
        self.throttle_reset(commit=False)
        self.set_last_used_timestamp(commit=False)
        self.save()
        return True


_DIGEST = re.compile(r"[0-9a-f]{64}")


class BackupCode(models.Model):
    """One unused backup code, kept only as `backup_code_digest(code)`."""

    device = models.ForeignKey(BackupCodeDevice, on_delete=models.CASCADE, related_name="codes")
    digest = models.CharField(max_length=64, db_index=True,
                              help_text="HMAC-SHA256 of the code (keyed by API_KEY_HMAC_SECRET); the code is "
                                        "never stored.")

    class Meta:
        verbose_name = "backup code"

    def __str__(self):
        return f"backup code {self.pk}"

    def save(self, *args, **kwargs):
        if not _DIGEST.fullmatch(self.digest or ""):
            raise ValueError("A backup code is stored only as its digest (backup_code_digest).")
        super().save(*args, **kwargs)


def backup_code_digest(code: str) -> str:
    """The stored form of a backup code: HMAC-SHA256 keyed by API_KEY_HMAC_SECRET (a leaked table alone
    cannot be brute-forced back to the 40-bit codes), case and surrounding spaces ignored."""
    message = b"otp-backup-code:" + code.strip().lower().encode()
    return hmac.new(settings.API_KEY_HMAC_SECRET.encode(), message, hashlib.sha256).hexdigest()


def new_backup_code() -> str:
    """A new random code (django-otp's StaticToken format: 8 lowercase base32 characters)."""
    return b32encode(os.urandom(5)).decode().lower()
