from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError

from core import clock
from core.audit import audit_record
from core.context import Actor
from core.db import use_case
from core.errors import ValidationFailed
from core.events import emit, snapshot
from core.ids import get_by_public_id
from core.models import stamp, touch
from core.operations import ALL_SCOPES

from . import apikeys
from .audit import AccountsAction
from .errors import AccountLocked, InvalidRateLimit, InvalidScopes, UnknownRole, WeakPassword
from .events import AccountsEvent
from .models import (
    ApiKey,
    BackupCode,
    BackupCodeDevice,
    Customer,
    KycReview,
    LoginThrottle,
    StaffTOTPDevice,
    User,
    backup_code_digest,
    new_backup_code,
)
from .roles import ROLE_NAMES
from .selectors import customer_get

KYC_NOTE_MAX, KYC_EVIDENCE_MAX = 1000, 200

# --- Customers --------------------------------------------------------------------------


@use_case
def customer_create(*, actor: Actor, email: str, name: str = "", country: str = "",
                    metadata: dict[str, Any] | None = None) -> Customer:
    customer = Customer(email=email.strip().lower(), name=name.strip(), country=(country or "").upper(),
                        metadata=metadata or {})
    stamp(customer)
    customer.save(force_insert=True)
    audit_record(action=AccountsAction.CUSTOMER_CREATED, actor=actor, obj=customer)
    emit(AccountsEvent.CUSTOMER_CREATED, customer, actor=actor)
    return customer


@use_case
def customer_update(*, actor: Actor, customer_id: str, **changes: Any) -> Customer:
    customer = customer_get(customer_id=customer_id)
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    previous = snapshot(customer)
    changed = {}
    for field in ("email", "name", "country", "status", "metadata"):
        if field in changes and changes[field] is not None:
            value = changes[field]
            if field == "country":
                value = value.upper()
            if field == "email":
                value = value.strip().lower()
            if getattr(customer, field) != value:
                changed[field] = value
                setattr(customer, field, value)
    if changed:
        touch(customer, *changed)
        audit_record(action=AccountsAction.CUSTOMER_UPDATED, actor=actor, obj=customer,
                     details={"fields": sorted(changed)})
        emit(AccountsEvent.CUSTOMER_UPDATED, customer, previous=previous, actor=actor)
    return customer


@use_case
def customer_kyc_update(*, actor: Actor, customer_id: str, kyc_status: str, note: str,
                        evidence_reference: str = "") -> Customer:
    """Records a KYC decision: the new status, the reviewer's note (required) and where the evidence is
    kept, as a `KycReview` row, audited and evented. Repeating the current status changes nothing."""
    if kyc_status not in Customer.KycStatus.values:
        raise ValidationFailed({"status": [f"One of: {', '.join(Customer.KycStatus.values)}."]})
    note, evidence_reference = (note or "").strip(), (evidence_reference or "").strip()
    if not note:
        raise ValidationFailed({"note": ["Say why the status changes."]})
    if len(note) > KYC_NOTE_MAX:
        raise ValidationFailed({"note": [f"At most {KYC_NOTE_MAX} characters."]})
    if len(evidence_reference) > KYC_EVIDENCE_MAX:
        raise ValidationFailed({"evidence_reference": [f"At most {KYC_EVIDENCE_MAX} characters."]})
    customer = Customer.objects.select_for_update().get(pk=customer_get(customer_id=customer_id).pk)
    if customer.kyc_status == kyc_status:
        return customer
    previous = snapshot(customer)
    before, customer.kyc_status = customer.kyc_status, kyc_status
    touch(customer, "kyc_status")
    review = KycReview(customer=customer, from_status=before, to_status=kyc_status, note=note,
                       evidence_reference=evidence_reference)
    stamp(review, actor=actor)
    review.save(force_insert=True)
    audit_record(action=AccountsAction.CUSTOMER_KYC_UPDATED, actor=actor, obj=customer,
                 details={"from": before, "to": kyc_status, "note": note,
                          "evidence_reference": evidence_reference, "review_id": review.pk})
    emit(AccountsEvent.CUSTOMER_KYC_UPDATED, customer, previous=previous, actor=actor)
    return customer


# --- API keys ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CreatedApiKey:
    api_key: ApiKey
    raw_key: str  # shown once, never stored


# What DRF's SimpleRateThrottle.parse_rate understands; anything else would fail every request.
_RATE = re.compile(r"^[1-9]\d*/(s|sec|second|m|min|minute|h|hour|d|day)$")


def _normalize_scopes(scopes: list[str] | str) -> list[str]:
    if isinstance(scopes, str):
        scopes = [s for s in (part.strip() for part in scopes.split(",")) if s]
    unknown = [s for s in scopes if s not in ALL_SCOPES]
    if unknown or not scopes:
        raise InvalidScopes(f"Unknown or empty scopes: {', '.join(unknown) or '(none)'}.",
                            details={"unknown": unknown, "allowed": list(ALL_SCOPES)})
    return sorted(set(scopes))


@use_case
def api_key_create(*, actor: Actor, owner: User, name: str, scopes: list[str] | str,
                   expires_days: int | None = None, rate_limit: str = "") -> CreatedApiKey:
    scopes = _normalize_scopes(scopes)
    rate_limit = (rate_limit or "").strip()
    if rate_limit and not _RATE.match(rate_limit):
        raise InvalidRateLimit(details={"rate_limit": rate_limit})
    prefix, raw = apikeys.generate()
    now = clock.now()
    api_key = ApiKey.objects.create(
        prefix=prefix, secret_hash=apikeys.hash_key(raw), owner=owner, name=name, scopes=scopes,
        created=now, expires_at=now + dt.timedelta(days=expires_days) if expires_days else None,
        rate_limit=rate_limit, created_by=actor.user,
    )
    audit_record(action="api_key.created", actor=actor, obj=api_key,
                 details={"scopes": scopes, "owner": owner.get_username()})
    return CreatedApiKey(api_key, raw)


@use_case
def api_key_revoke(*, actor: Actor, api_key_id: str) -> ApiKey:
    """Revokes a key for good; revoking a revoked key changes nothing."""
    api_key = get_by_public_id(ApiKey.objects.select_for_update(), api_key_id, field="api_key_id",
                               message="No such API key.")
    if api_key.revoked_at is None:
        api_key.revoked_at = clock.now()
        api_key.save(update_fields=["revoked_at"])
        audit_record(action="api_key.revoked", actor=actor, obj=api_key)
    return api_key


# --- Staff users and the second factor ---------------------------------------------------


@dataclass(frozen=True)
class CreatedStaffUser:
    user: User
    totp_device: StaffTOTPDevice | None
    backup_codes: list[str]


@use_case
def staff_user_create(*, actor: Actor, username: str, password: str, role: str, email: str = "",
                      with_totp: bool = True) -> CreatedStaffUser:
    if role not in ROLE_NAMES:
        raise UnknownRole(f"Unknown role {role!r}.", details={"allowed": list(ROLE_NAMES)})
    user = User(username=username, email=email, is_staff=True)
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise WeakPassword("; ".join(exc.messages), details={"errors": exc.messages}) from None
    user.set_password(password)
    user.save()
    user.groups.add(Group.objects.get(name=role))
    device = None
    codes: list[str] = []
    if with_totp:
        device = StaffTOTPDevice.objects.create(user=user, name="default", confirmed=True)
        codes = backup_codes_reset(user=user)
    audit_record(action="staff_user.created", actor=actor, obj=user, details={"role": role})
    return CreatedStaffUser(user, device, codes)


@use_case
def staff_user_set_role(*, actor: Actor, user: User, role: str) -> User:
    if role not in ROLE_NAMES:
        raise UnknownRole(f"Unknown role {role!r}.", details={"allowed": list(ROLE_NAMES)})
    # Only the real difference, so the field history says what actually changed.
    stale = list(user.groups.filter(name__in=ROLE_NAMES).exclude(name=role))
    if stale:
        user.groups.remove(*stale)
    if not user.groups.filter(name=role).exists():
        user.groups.add(Group.objects.get(name=role))
    audit_record(action="staff_user.role_changed", actor=actor, obj=user, details={"role": role})
    return user


@use_case
def backup_codes_reset(*, user: User) -> list[str]:
    """Replaces the user's backup codes; the codes are returned once and stored only as digests."""
    device, _ = BackupCodeDevice.objects.get_or_create(user=user, name="backup", defaults={"confirmed": True})
    device.codes.all().delete()
    codes = [new_backup_code() for _ in range(settings.STATIC_BACKUP_CODE_COUNT)]
    BackupCode.objects.bulk_create([BackupCode(device=device, digest=backup_code_digest(code)) for code in codes])
    return codes


@use_case
def totp_enrolment_start(*, user: User) -> StaffTOTPDevice:
    StaffTOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return StaffTOTPDevice.objects.create(user=user, name="default", confirmed=False)


@use_case
def totp_enrolment_confirm(*, user: User, device: StaffTOTPDevice) -> list[str]:
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = backup_codes_reset(user=user)
    audit_record(action="otp.enrolled", actor=Actor.for_user(user), obj=user)
    return codes


# --- Login lockout (per username, existing or not) -------------------------------------


def login_ensure_not_locked(*, username: str) -> None:
    throttle = LoginThrottle.objects.filter(username=username.lower()).first()
    if throttle and throttle.locked_until and throttle.locked_until > clock.now():
        raise AccountLocked(details={"locked_until": clock.isoformat(throttle.locked_until)})


_LOGIN_FAILED = {"password": AccountsAction.LOGIN_PASSWORD_FAILED, "otp": AccountsAction.LOGIN_OTP_FAILED}


@use_case
def login_record_failure(*, username: str, stage: str) -> LoginThrottle:
    """A failed password or second factor. The 10th in a row locks the username for 30 minutes."""
    now = clock.now()
    throttle, _ = LoginThrottle.objects.select_for_update().get_or_create(username=username.lower())
    throttle.failures += 1
    throttle.last_failure_at = now
    locked = throttle.failures >= settings.LOGIN_LOCKOUT_THRESHOLD
    if locked:
        throttle.locked_until = now + dt.timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
        throttle.failures = 0
    throttle.save()
    audit_record(action=_LOGIN_FAILED[stage], actor=Actor.system("anonymous"), object_type="accounts.user",
                 object_id=username[:64], outcome="failure", details={"locked": locked})
    return throttle


@use_case
def login_record_success(*, user: User) -> None:
    LoginThrottle.objects.filter(username=user.get_username().lower()).update(
        failures=0, locked_until=None)
    audit_record(action="login.succeeded", actor=Actor.for_user(user), obj=user)


@use_case
def staff_user_reset_credentials(*, actor: Actor, user: User, password: str, role: str) -> CreatedStaffUser:
    """New password, role, TOTP device and backup codes for an existing staff user."""
    if role not in ROLE_NAMES:
        raise UnknownRole(f"Unknown role {role!r}.", details={"allowed": list(ROLE_NAMES)})
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise WeakPassword("; ".join(exc.messages), details={"errors": exc.messages}) from None
    user.set_password(password)
    user.is_active = True
    user.is_staff = True
    user.save()
    staff_user_set_role(actor=actor, user=user, role=role)
    StaffTOTPDevice.objects.filter(user=user).delete()
    BackupCodeDevice.objects.filter(user=user).delete()
    device = StaffTOTPDevice.objects.create(user=user, name="default", confirmed=True)
    codes = backup_codes_reset(user=user)
    LoginThrottle.objects.filter(username=user.get_username().lower()).delete()
    audit_record(action="staff_user.credentials_reset", actor=actor, obj=user)
    return CreatedStaffUser(user, device, codes)


@use_case
def logout_record(*, user: User) -> None:
    """A staff user logged out (django.contrib.auth's `user_logged_out`): who, from where (the request's
    client, bound in the context)."""
    audit_record(action=AccountsAction.LOGOUT, actor=Actor.for_user(user), obj=user)
