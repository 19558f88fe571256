"""PCI DSS v4.0.1 self-assessment: checks that read the running system and say what they saw.

A check is a function registered with `@pci_check(id=, requirement=, title=)` that returns a
`CheckResult(status, evidence)`: `passed`, `failed` or `not_applicable`, and the evidence as a sentence
an assessor can verify (counts, names, setting values, sample sizes). Evidence never holds a card number:
a number found is named by where it is and its last four digits.

`run_assessment()` runs every check (in registration order) and scores them: the share of applicable
checks (passed + failed) that passed, as an integer 0-100 rounded half up; with no applicable check the
score is 100 (nothing failed). A check that raises is `failed` with the exception's class as evidence (an
assessment that cannot verify a control does not pass it).

Other modules add checks with the same decorator (the audit chain 10.3.2 and retention 10.5.1 checks
are added by the audit-chain work); a module that registers checks is imported from
`ComplianceConfig.ready()`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import models
from django.db.models.functions import Cast
from django.utils.module_loading import import_string

from core import clock
from core.cards import iter_pans, mask_pan
from core.crypto import EncryptedTextField

PASSED = "passed"
FAILED = "failed"
NOT_APPLICABLE = "not_applicable"
STATUSES = (PASSED, FAILED, NOT_APPLICABLE)

# Rows read per table by the card-number scan (the newest first), files' bytes read by the log scan.
DEFAULT_SCAN_SAMPLE_ROWS = 1000
DEFAULT_LOG_SCAN_DAYS = 7
DEFAULT_LOG_SCAN_BYTES = 5 * 1024 * 1024
WILDCARD_KEY_MAX_AGE_DAYS = 90
MIN_PASSWORD_LENGTH = 12
MAX_IDLE_SECONDS = 15 * 60
MAX_LOCKOUT_THRESHOLD = 10
MIN_LOCKOUT_MINUTES = 30
MIN_HSTS_SECONDS = 365 * 24 * 3600
# Findings named in one check's evidence (the count says how many there were in all).
MAX_NAMED = 20


@dataclass(frozen=True)
class CheckResult:
    status: str
    evidence: str

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"PCI check status must be one of {STATUSES}, not {self.status!r}.")


@dataclass(frozen=True)
class PciCheck:
    id: str
    requirement: str
    title: str
    run: Callable[[], CheckResult]


_registry: dict[str, PciCheck] = {}


def pci_check(*, id: str, requirement: str, title: str) -> Callable[[Callable[[], CheckResult]],  # noqa: A002
                                                                     Callable[[], CheckResult]]:
    """Registers a check (a function of no arguments returning a `CheckResult`) under a unique id."""

    def register(fn: Callable[[], CheckResult]) -> Callable[[], CheckResult]:
        existing = _registry.get(id)
        if existing is not None and existing.run is not fn:
            raise ValueError(f"PCI check {id} registered twice.")
        _registry[id] = PciCheck(id=id, requirement=requirement, title=title, run=fn)
        return fn

    return register


def registered_checks() -> list[PciCheck]:
    return list(_registry.values())


def run_check(check: PciCheck) -> dict[str, str]:
    try:
        result = check.run()
    except Exception as exc:  # noqa: BLE001 - an unverifiable control is a failed one, the others still run
        result = CheckResult(FAILED, f"The check could not run: {type(exc).__name__}.")
    return {"id": check.id, "requirement": check.requirement, "title": check.title, "status": result.status,
            "evidence": result.evidence}


def score(checks: list[dict[str, str]]) -> int:
    passed = sum(1 for c in checks if c["status"] == PASSED)
    applicable = sum(1 for c in checks if c["status"] in (PASSED, FAILED))
    if applicable == 0:
        return 100
    return (200 * passed + applicable) // (2 * applicable)  # round half up


def run_assessment() -> dict[str, Any]:
    """`{"score", "checks": [{"id", "requirement", "title", "status", "evidence"}], "assessed_at"}`."""
    assessed_at = clock.now()
    checks = [run_check(check) for check in registered_checks()]
    return {"score": score(checks), "checks": checks, "assessed_at": assessed_at}


def _names(items: list[str]) -> str:
    shown = ", ".join(items[:MAX_NAMED])
    return shown + (f" and {len(items) - MAX_NAMED} more" if len(items) > MAX_NAMED else "")


def _active_staff() -> models.QuerySet[Any]:
    from accounts.models import User

    return User.objects.filter(is_active=True, is_staff=True).order_by("username")


# --- 8.4.2: the second factor ------------------------------------------------------------------


def _installed(middleware: type) -> bool:
    """Whether `MIDDLEWARE` holds this class or a subclass of it (core.browser_middleware's, for one)."""
    return any(isinstance(found, type) and issubclass(found, middleware)
               for found in map(import_string, settings.MIDDLEWARE))


@pci_check(id="staff_second_factor", requirement="8.4.2",
           title="A second factor is enforced for every staff user of the admin")
def _staff_second_factor() -> CheckResult:
    from django.contrib import admin
    from django_otp.admin import OTPAdminSite
    from django_otp.middleware import OTPMiddleware

    from accounts.models import StaffTOTPDevice

    site = admin.site
    gated = isinstance(site, OTPAdminSite)
    middleware = _installed(OTPMiddleware)
    staff = list(_active_staff().values_list("pk", "username"))
    with_device = set(StaffTOTPDevice.objects.filter(user_id__in=[pk for pk, _ in staff], confirmed=True)
                      .values_list("user_id", flat=True))
    missing = [name for pk, name in staff if pk not in with_device]
    gate = (f"admin site {site.__class__.__name__} {'is' if gated else 'is not'} an OTPAdminSite (every admin page "
            f"needs a verified device), OTPMiddleware {'installed' if middleware else 'missing'}")
    if missing:
        who = (f"{len(missing)} of {len(staff)} active staff users have no confirmed TOTP device: "
               f"{_names(missing)}")
    else:
        who = f"all {len(staff)} active staff users have a confirmed TOTP device"
    return CheckResult(FAILED if missing or not gated or not middleware else PASSED, f"{gate}; {who}.")


# --- 8.3.6, 8.3.4: passwords and lockout ---------------------------------------------------------


@pci_check(id="password_length", requirement="8.3.6", title="Passwords are at least 12 characters long")
def _password_length() -> CheckResult:
    name = "django.contrib.auth.password_validation.MinimumLengthValidator"
    validators = [v for v in settings.AUTH_PASSWORD_VALIDATORS if isinstance(v, dict)]
    found = [v for v in validators if v.get("NAME") == name]
    if not found:
        return CheckResult(FAILED, "AUTH_PASSWORD_VALIDATORS has no MinimumLengthValidator (Django's default "
                                   "validators allow any length).")
    length = max(int(v.get("OPTIONS", {}).get("min_length", 8)) for v in found)
    status = PASSED if length >= MIN_PASSWORD_LENGTH else FAILED
    return CheckResult(status, f"AUTH_PASSWORD_VALIDATORS: MinimumLengthValidator min_length={length} "
                               f"(required: at least {MIN_PASSWORD_LENGTH}); "
                               f"{len(validators)} validators configured.")


@pci_check(id="login_lockout", requirement="8.3.4",
           title="Accounts lock after at most 10 failed attempts, for at least 30 minutes")
def _login_lockout() -> CheckResult:
    from accounts.models import LoginThrottle

    threshold = getattr(settings, "LOGIN_LOCKOUT_THRESHOLD", None)
    minutes = getattr(settings, "LOGIN_LOCKOUT_MINUTES", None)
    locked = LoginThrottle.objects.filter(locked_until__gt=clock.now()).count()
    ok = (isinstance(threshold, int) and 1 <= threshold <= MAX_LOCKOUT_THRESHOLD
          and isinstance(minutes, int | float) and minutes >= MIN_LOCKOUT_MINUTES)
    return CheckResult(PASSED if ok else FAILED,
                       f"LOGIN_LOCKOUT_THRESHOLD={threshold} failed password or second-factor attempts (required: "
                       f"1-{MAX_LOCKOUT_THRESHOLD}), LOGIN_LOCKOUT_MINUTES={minutes} (required: at least "
                       f"{MIN_LOCKOUT_MINUTES}); {locked} username(s) locked now.")


# --- 8.2.8: idle sessions -------------------------------------------------------------------------


@pci_check(id="session_idle_timeout", requirement="8.2.8",
           title="Idle admin sessions end after at most 15 minutes")
def _session_idle_timeout() -> CheckResult:
    age = settings.SESSION_COOKIE_AGE
    every = settings.SESSION_SAVE_EVERY_REQUEST
    ok = age <= MAX_IDLE_SECONDS and every
    return CheckResult(PASSED if ok else FAILED,
                       f"SESSION_COOKIE_AGE={age} s (required: at most {MAX_IDLE_SECONDS} s), "
                       f"SESSION_SAVE_EVERY_REQUEST={every} (True makes the age an idle timeout).")


# --- 2.2.6, 4.2.1: production settings --------------------------------------------------------------


@pci_check(id="debug_off", requirement="2.2.6", title="DEBUG is off")
def _debug_off() -> CheckResult:
    return CheckResult(FAILED if settings.DEBUG else PASSED,
                       f"DEBUG={settings.DEBUG} (True shows settings and stack traces to anyone who triggers an "
                       f"error).")


@pci_check(id="https_only", requirement="4.2.1",
           title="HTTPS only: redirect, HSTS for a year, secure cookies")
def _https_only() -> CheckResult:
    values = {
        "SECURE_SSL_REDIRECT": getattr(settings, "SECURE_SSL_REDIRECT", False),
        "SECURE_HSTS_SECONDS": getattr(settings, "SECURE_HSTS_SECONDS", 0) or 0,
        "SESSION_COOKIE_SECURE": getattr(settings, "SESSION_COOKIE_SECURE", False),
        "CSRF_COOKIE_SECURE": getattr(settings, "CSRF_COOKIE_SECURE", False),
    }
    wrong = [name for name, value in values.items()
             if (value < MIN_HSTS_SECONDS if name == "SECURE_HSTS_SECONDS" else value is not True)]
    shown = ", ".join(f"{name}={value}" for name, value in values.items())
    if wrong:
        return CheckResult(FAILED, f"{shown}; not as required: {', '.join(wrong)} (HSTS at least "
                                   f"{MIN_HSTS_SECONDS} s, the others True; config.settings.production sets them).")
    return CheckResult(PASSED, f"{shown}.")


# --- 3.5.1: no card numbers stored -----------------------------------------------------------------


def _walk(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(path inside the value, digits) of each card number in a text or JSON value (keys included)."""
    if isinstance(value, str):
        for digits in iter_pans(value):
            yield path, digits
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        yield from _walk(str(value), path)
    elif isinstance(value, dict):
        for key, item in value.items():
            in_key = list(dict.fromkeys(iter_pans(str(key))))
            # A key holding a card number is named by its mask, never spelled out in the path.
            shown = f"[{' '.join(mask_pan(d) for d in in_key)}]" if in_key else str(key)
            here = f"{path}.{shown}" if path else shown
            for digits in in_key:
                yield here, digits
            yield from _walk(item, here)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from _walk(item, f"{path}[{i}]")


def _text_columns(model: type[models.Model]) -> list[models.Field[Any, Any]]:
    """Columns that can hold free text: char, text and JSON columns, except primary keys, fixed choices
    and encrypted ones (ciphertext; and stored encrypted is what 3.5.1 asks)."""
    return [f for f in model._meta.concrete_fields
            if isinstance(f, models.CharField | models.TextField | models.JSONField)
            and not isinstance(f, EncryptedTextField) and not f.primary_key and not f.choices]


def _newest_first(model: type[models.Model]) -> list[str]:
    names = {f.name for f in model._meta.concrete_fields if isinstance(f, models.DateTimeField)}
    for name in ("created", "created_at", "timestamp", "date_joined", "expire_date"):
        if name in names:
            return [f"-{name}", "-pk"]
    return ["-pk"]


def scanned_models() -> list[type[models.Model]]:
    return [m for m in apps.get_models() if m._meta.managed and not m._meta.proxy and _text_columns(m)]


@pci_check(id="no_card_numbers_in_database", requirement="3.5.1",
           title="No card number in any text or JSON column (Luhn scan)")
def _no_card_numbers_in_database() -> CheckResult:
    sample = int(getattr(settings, "PCI_SCAN_SAMPLE_ROWS", DEFAULT_SCAN_SAMPLE_ROWS))
    findings: list[str] = []
    scanned = total = 0
    sampled_tables: list[str] = []
    tables = 0
    for model in scanned_models():
        columns = _text_columns(model)
        manager = model._base_manager
        count = manager.count()
        tables += 1
        total += count
        if count > sample:
            sampled_tables.append(f"{model._meta.db_table} ({sample} of {count})")
        rows = manager.order_by(*_newest_first(model)).values_list("pk", *[f.attname for f in columns])[:sample]
        for row in rows:
            scanned += 1
            pk = row[0]
            for column, value in zip(columns, row[1:], strict=True):
                seen: set[tuple[str, str]] = set()
                for path, digits in _walk(value):
                    if (path, digits) in seen:
                        continue
                    seen.add((path, digits))
                    where = f"{model._meta.db_table}.{column.column} id={pk}" + (f" at {path}" if path else "")
                    findings.append(f"{where} ({mask_pan(digits)})")
    scope = (f"scanned {scanned} of {total} rows in {tables} tables (char, text and JSON columns; encrypted "
             f"columns skipped; the newest {sample} rows of each table)")
    scope += (f"; sampled tables: {', '.join(sampled_tables)}" if sampled_tables
              else "; every row of every table read")
    if findings:
        return CheckResult(FAILED, f"{len(findings)} card number(s) found: {_names(findings)}; {scope}.")
    return CheckResult(PASSED, f"No Luhn-valid 13-19 digit number found; {scope}.")


def _log_files() -> list[Path]:
    paths: list[Path] = []
    for handler in (getattr(settings, "LOGGING", {}) or {}).get("handlers", {}).values():
        filename = handler.get("filename") if isinstance(handler, dict) else None
        if filename:
            base = Path(filename)
            paths.append(base)
            if base.parent.is_dir():  # rotated copies: app.log.1, app.log.2026-11-29, ...
                paths.extend(sorted(p for p in base.parent.glob(base.name + ".*") if p.is_file()))
    return list(dict.fromkeys(paths))


def _masks_itself(handler: dict[str, Any]) -> bool:
    """A handler class that redacts card numbers before writing (the error log) says so itself."""
    target = handler.get("class") or handler.get("()")
    if not isinstance(target, str):
        return False
    try:
        return bool(getattr(import_string(target), "masks_card_numbers", False))
    except ImportError:
        return False


@pci_check(id="no_card_numbers_in_logs", requirement="3.5.1",
           title="No card number in recent log files")
def _no_card_numbers_in_logs() -> CheckResult:
    files = _log_files()
    if not files:
        logging_config = getattr(settings, "LOGGING", {}) or {}
        masks = {name for name, f in logging_config.get("filters", {}).items()
                 if isinstance(f, dict) and f.get("()") == "core.logging.PanMaskingFilter"}
        kinds = ", ".join(
            f"{name} ({h.get('class') or h.get('()') or '?'}, "
            f"{'card numbers masked' if masks & set(h.get('filters', [])) or _masks_itself(h) else 'no mask'})"
            for name, h in logging_config.get("handlers", {}).items()) or "none"
        return CheckResult(NOT_APPLICABLE, f"No file logging: LOGGING has no handler with a filename (handlers: "
                                           f"{kinds}); logs leave the process on stdout.")
    days = int(getattr(settings, "PCI_LOG_SCAN_DAYS", DEFAULT_LOG_SCAN_DAYS))
    limit = int(getattr(settings, "PCI_LOG_SCAN_BYTES", DEFAULT_LOG_SCAN_BYTES))
    since = (clock.now() - dt.timedelta(days=days)).timestamp()
    findings: list[str] = []
    read: list[str] = []
    for path in files:
        try:
            stat = path.stat()
        except OSError:
            continue
        if stat.st_mtime < since:
            continue
        with path.open("rb") as handle:
            start = max(0, stat.st_size - limit)
            handle.seek(start)
            text = handle.read().decode("utf-8", errors="replace")
        lines = text.splitlines()
        read.append(f"{path.name} ({len(lines)} lines" + (f", last {limit} bytes" if start else "") + ")")
        for number, line in enumerate(lines, start=1):
            for digits in dict.fromkeys(iter_pans(line)):
                findings.append(f"{path} line {number}{' of the tail' if start else ''} ({mask_pan(digits)})")
    scope = (f"log files changed in the last {days} days: {_names(read) if read else 'none'} "
             f"(of {len(files)} in {', '.join(sorted({str(p.parent) for p in files}))})")
    if findings:
        return CheckResult(FAILED, f"{len(findings)} card number(s) found: {_names(findings)}; {scope}.")
    return CheckResult(PASSED, f"No Luhn-valid 13-19 digit number found; {scope}.")


# --- 8.3.2: API keys and secrets unreadable at rest -------------------------------------------------

_HEX64 = re.compile(r"[0-9a-f]{64}")
_SECRET_NAME = re.compile(r"secret|credential|private_key|token|password|passphrase|api_?key")
# Fields the name pattern misses that hold a secret in clear unless protected.
KNOWN_SECRET_FIELDS = {"accounts.StaffTOTPDevice.key": "the TOTP seed",
                       "accounts.BackupCode.digest": "a staff user's backup code (kept as its digest)"}
# Fields whose name matches but that hold no secret.
NOT_SECRETS = {
    "webhooks.WebhookDelivery.token": "a single-use claim on a delivery attempt, not a credential",
    "monitoring.RequestLog.api_key_id": "the calling key's public id (key_...), not its secret",
    "monitoring.RequestLog.api_key_name": "the calling key's label, not its secret",
}
# label -> (what it is, test of a stored value)
KNOWN_HASHES: dict[str, tuple[str, Callable[[str], bool]]] = {
    "accounts.User.password": ("Django's salted password hash", lambda v: v.startswith("!") or v.count("$") >= 2),
    "accounts.ApiKey.secret_hash": ("HMAC-SHA256 of the key (64 hex)", lambda v: bool(_HEX64.fullmatch(v))),
    "accounts.BackupCode.digest": ("HMAC-SHA256 of the code (64 hex)", lambda v: bool(_HEX64.fullmatch(v))),
}
_CIPHERTEXT = re.compile(r"v1:[0-9a-f]{8}:[A-Za-z0-9+/]+=*")


@pci_check(id="api_keys_hashed", requirement="8.3.2", title="API keys are stored only as a keyed hash")
def _api_keys_hashed() -> CheckResult:
    from accounts.models import ApiKey

    public = {"prefix", "secret_hash", "name", "rate_limit", "id"}
    columns = [f.name for f in ApiKey._meta.concrete_fields
               if isinstance(f, models.CharField | models.TextField) and f.name not in public]
    rows = list(ApiKey.objects.order_by("created").values_list("pk", "prefix", "secret_hash"))
    bad = [pk for pk, _, digest in rows if not _HEX64.fullmatch(digest or "")]
    long_prefix = [pk for pk, prefix, _ in rows if len(prefix) > 15]
    hmac_key = bool(getattr(settings, "API_KEY_HMAC_SECRET", ""))
    evidence = (f"ApiKey keeps prefix (sk_ + 12 characters, the public part) and secret_hash (HMAC-SHA256 keyed "
                f"by API_KEY_HMAC_SECRET, {'set' if hmac_key else 'EMPTY'}); other text columns: "
                f"{', '.join(columns) or 'none'}; {len(rows) - len(bad)} of {len(rows)} stored hashes are 64 hex "
                f"characters")
    if bad or long_prefix or columns or not hmac_key:
        problems = []
        if bad:
            problems.append(f"not a 64-hex HMAC: {_names(bad)}")
        if long_prefix:
            problems.append(f"prefix longer than its 15 public characters: {_names(long_prefix)}")
        if columns:
            problems.append(f"unexpected text columns: {', '.join(columns)}")
        return CheckResult(FAILED, f"{evidence}; {'; '.join(problems) or 'no HMAC key configured'}.")
    return CheckResult(PASSED, evidence + ".")


@pci_check(id="wildcard_keys_rotated", requirement="8.6.3",
           title="No active wildcard-scope API key is older than 90 days")
def _wildcard_keys_rotated() -> CheckResult:
    from django.db.models import Q

    from accounts.models import ApiKey

    now = clock.now()
    cutoff = now - dt.timedelta(days=WILDCARD_KEY_MAX_AGE_DAYS)
    active = ApiKey.objects.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now), revoked_at__isnull=True)
    wildcard = [(k.pk, k.prefix, k.owner.username, k.created) for k in active.select_related("owner")
                .order_by("created") if "*" in (k.scopes or [])]
    old = [f"{pk} ({prefix}, owner {owner}, {(now - created).days} days old)"
           for pk, prefix, owner, created in wildcard if created < cutoff]
    evidence = f"{len(wildcard)} active API key(s) with scope *; limit {WILDCARD_KEY_MAX_AGE_DAYS} days"
    if old:
        return CheckResult(FAILED, f"{evidence}; older than the limit: {_names(old)}. Rotate them or narrow "
                                   f"their scopes.")
    return CheckResult(PASSED, f"{evidence}; none older than the limit.")


@pci_check(id="secrets_encrypted", requirement="8.3.2",
           title="Secrets stored in the database are encrypted or hashed")
def _secrets_encrypted() -> CheckResult:
    offenders: list[str] = []
    protected: list[str] = []
    for label, field, model in secret_fields():
        how = field_protection(label, field, model)
        (protected if how.startswith(("encrypted", "hashed")) else offenders).append(f"{label} ({how})")
    exempt = [f"{label} ({why})" for label, why in NOT_SECRETS.items()]
    evidence = (f"{len(protected) + len(offenders)} secret field(s) found by name (secret, credential, "
                f"private_key, token, password, passphrase, api key) or known: protected: "
                f"{_names(protected) or 'none'}; not secrets: {'; '.join(exempt)}")
    if offenders:
        return CheckResult(FAILED, f"{evidence}; stored in clear: {_names(offenders)}.")
    return CheckResult(PASSED, evidence + ".")


def secret_fields() -> list[tuple[str, models.Field[Any, Any], type[models.Model]]]:
    """(label `app.Model.field`, field, model) of every column that holds a secret."""
    found: list[tuple[str, models.Field[Any, Any], type[models.Model]]] = []
    for model in apps.get_models():
        if not model._meta.managed or model._meta.proxy:
            continue
        for f in model._meta.concrete_fields:
            if f.is_relation or not isinstance(f, models.CharField | models.TextField | models.BinaryField
                                               | models.JSONField):
                continue
            label = f"{model._meta.label}.{f.name}"
            if label in NOT_SECRETS:
                continue
            if label in KNOWN_SECRET_FIELDS or _SECRET_NAME.search(f.name):
                found.append((label, f, model))
    return found


def field_protection(label: str, field: models.Field[Any, Any], model: type[models.Model]) -> str:
    """How a secret field is protected ("encrypted ...", "hashed ...") or why it is not."""
    if isinstance(field, EncryptedTextField):
        # The column as stored (cast to text: the field's own reading would decrypt): a value written
        # around the field (raw SQL, a bulk copy) is no ciphertext, and the field alone proves nothing.
        stored = [v for v in model._base_manager.exclude(**{f"{field.attname}__isnull": True})
                  .annotate(_stored=Cast(field.attname, output_field=models.TextField()))
                  .values_list("_stored", flat=True)[:DEFAULT_SCAN_SAMPLE_ROWS] if isinstance(v, str) and v]
        clear = sum(1 for v in stored if not _CIPHERTEXT.fullmatch(v))
        if clear:
            return (f"EncryptedTextField, but {clear} of {len(stored)} stored value(s) are not v1 ciphertext "
                    f"(written around the field)")
        return f"encrypted: EncryptedTextField, AES-256-GCM, {len(stored)} stored value(s) are v1 ciphertext"
    # The stored values as the database holds them (no from_db_value of a custom field runs on a
    # plain column): a column someone encrypts another way passes once every value is ciphertext.
    values = [v for v in model._base_manager.exclude(**{f"{field.attname}__isnull": True})
              .values_list(field.attname, flat=True)[:DEFAULT_SCAN_SAMPLE_ROWS] if isinstance(v, str) and v]
    if label in KNOWN_HASHES:
        what, looks_hashed = KNOWN_HASHES[label]
        bad = sum(1 for v in values if not looks_hashed(v))
        if bad:
            return f"{bad} of {len(values)} stored values are not {what}"
        return f"hashed: {what}, {len(values)} values checked"
    if values and all(_CIPHERTEXT.fullmatch(v) for v in values):
        return f"encrypted: all {len(values)} stored values are v1 ciphertext"
    return f"plain {type(field).__name__}, {len(values)} stored value(s)"


# --- 7.2.1: roles -------------------------------------------------------------------------------------


@pci_check(id="staff_roles", requirement="7.2.1", title="Every active staff user has a role")
def _staff_roles() -> CheckResult:
    from accounts.roles import ROLE_NAMES

    staff = _active_staff()
    names = list(staff.values_list("username", flat=True))
    in_role = set(staff.filter(groups__name__in=ROLE_NAMES).values_list("username", flat=True))
    missing = [n for n in names if n not in in_role]
    roles = f"roles: {', '.join(ROLE_NAMES)}"
    if missing:
        return CheckResult(FAILED, f"{len(missing)} of {len(names)} active staff users are in no role group: "
                                   f"{_names(missing)} ({roles}).")
    return CheckResult(PASSED, f"All {len(names)} active staff users are in a role group ({roles}).")

