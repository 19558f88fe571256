"""PCI DSS self-assessment (compliance.pci): each check passes in a clean, configured system and fails,
with evidence, when its condition is broken."""

import datetime as dt
import logging
import os

import pytest
from django.contrib.auth.models import Group
from django.db import connection

from accounts import services
from accounts.models import ApiKey, BackupCode, Customer, StaffTOTPDevice, User
from compliance import pci
from core import clock
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

PAN = "4111111111111111"
PASSWORD = "correct horse battery staple"
PAN_SPACED = "4111 1111 1111 1111"
AMEX = "378282246310005"


@pytest.fixture
def production_settings(settings):
    """What config.settings.production turns on (the test settings leave them off)."""
    settings.DEBUG = False
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    return settings


@pytest.fixture
def enrolled_staff(make_staff):
    def make(role="admin", username=None, confirmed=True):
        user = make_staff(role=role, username=username)
        StaffTOTPDevice.objects.create(user=user, name="default", confirmed=confirmed)
        return user

    return make


@pytest.fixture
def clean_system(production_settings, enrolled_staff, make_key):
    """An admin and an operator with confirmed devices, a recent wildcard key, a customer without card data."""
    admin = enrolled_staff("admin", username="alice")
    enrolled_staff("operator", username="bob")
    make_key("*", owner=admin)
    CustomerFactory(metadata={"plan": "gold", "order": "12345"})
    return admin


def checks():
    return {c["id"]: c for c in pci.run_assessment()["checks"]}


def check(check_id):
    return checks()[check_id]


def test_every_check_passes_in_a_clean_configured_system(clean_system):
    result = pci.run_assessment()
    statuses = {c["id"]: c["status"] for c in result["checks"]}
    assert statuses == {
        "staff_second_factor": "passed", "password_length": "passed", "login_lockout": "passed",
        "session_idle_timeout": "passed", "debug_off": "passed", "https_only": "passed",
        "no_card_numbers_in_database": "passed", "no_card_numbers_in_logs": "not_applicable",
        "api_keys_hashed": "passed", "wildcard_keys_rotated": "passed", "secrets_encrypted": "passed",
        "staff_roles": "passed", "audit_chain_intact": "passed", "audit_retention": "passed",
    }
    assert result["score"] == 100
    assert result["assessed_at"] <= clock.now()
    by_id = {c["id"]: c for c in result["checks"]}
    assert [c["requirement"] for c in result["checks"]] == [
        "8.4.2", "8.3.6", "8.3.4", "8.2.8", "2.2.6", "4.2.1", "3.5.1", "3.5.1", "8.3.2", "8.6.3", "8.3.2", "7.2.1",
        "10.3.2", "10.5.1"]
    assert by_id["staff_second_factor"]["evidence"] == (
        "admin site BackOfficeAdminSite is an OTPAdminSite (every admin page needs a verified device), "
        "OTPMiddleware installed; all 2 active staff users have a confirmed TOTP device.")
    assert by_id["password_length"]["evidence"] == (
        "AUTH_PASSWORD_VALIDATORS: MinimumLengthValidator min_length=12 (required: at least 12); "
        "4 validators configured.")
    assert by_id["login_lockout"]["evidence"] == (
        "LOGIN_LOCKOUT_THRESHOLD=10 failed password or second-factor attempts (required: 1-10), "
        "LOGIN_LOCKOUT_MINUTES=30 (required: at least 30); 0 username(s) locked now.")
    assert by_id["session_idle_timeout"]["evidence"] == (
        "SESSION_COOKIE_AGE=900 s (required: at most 900 s), SESSION_SAVE_EVERY_REQUEST=True "
        "(True makes the age an idle timeout).")
    assert by_id["https_only"]["evidence"] == (
        "SECURE_SSL_REDIRECT=True, SECURE_HSTS_SECONDS=31536000, SESSION_COOKIE_SECURE=True, "
        "CSRF_COOKIE_SECURE=True.")
    assert by_id["wildcard_keys_rotated"]["evidence"] == (
        "1 active API key(s) with scope *; limit 90 days; none older than the limit.")
    assert by_id["staff_roles"]["evidence"] == (
        "All 2 active staff users are in a role group (roles: admin, operator, risk_analyst, finance, support, "
        "auditor).")
    assert by_id["api_keys_hashed"]["evidence"].endswith("; 1 of 1 stored hashes are 64 hex characters.")
    assert by_id["no_card_numbers_in_logs"]["evidence"] == (
        "No file logging: LOGGING has no handler with a filename (handlers: console (logging.StreamHandler, "
        "card numbers masked), errorlog (monitoring.errorlog_handler.ErrorLogHandler, card numbers masked)); logs "
        "leave the process on stdout.")


def test_the_test_settings_fail_the_https_check_honestly(clean_system, settings):
    settings.SECURE_SSL_REDIRECT = False
    settings.SECURE_HSTS_SECONDS = 0
    result = check("https_only")
    assert result["status"] == "failed"
    assert result["evidence"] == (
        "SECURE_SSL_REDIRECT=False, SECURE_HSTS_SECONDS=0, SESSION_COOKIE_SECURE=True, CSRF_COOKIE_SECURE=True; "
        "not as required: SECURE_SSL_REDIRECT, SECURE_HSTS_SECONDS (HSTS at least 31536000 s, the others True; "
        "config.settings.production sets them).")


@pytest.mark.parametrize(("name", "value"), [("SESSION_COOKIE_SECURE", False), ("CSRF_COOKIE_SECURE", False),
                                             ("SECURE_HSTS_SECONDS", 3600)])
def test_each_https_setting_is_required(clean_system, settings, name, value):
    setattr(settings, name, value)
    result = check("https_only")
    assert result["status"] == "failed" and f"not as required: {name} " in result["evidence"]


# --- 8.4.2 ---------------------------------------------------------------------------------------


def test_a_staff_user_without_a_device_fails_the_second_factor_check(clean_system, make_staff):
    make_staff(role="support", username="carol")
    result = check("staff_second_factor")
    assert result == {
        "id": "staff_second_factor", "requirement": "8.4.2",
        "title": "A second factor is enforced for every staff user of the admin", "status": "failed",
        "evidence": "admin site BackOfficeAdminSite is an OTPAdminSite (every admin page needs a verified device), "
                    "OTPMiddleware installed; 1 of 3 active staff users have no confirmed TOTP device: carol."}


def test_a_disabled_device_fails_the_second_factor_check(clean_system):
    StaffTOTPDevice.objects.filter(user__username="bob").update(confirmed=False)
    result = check("staff_second_factor")
    assert result["status"] == "failed"
    assert result["evidence"].endswith("1 of 2 active staff users have no confirmed TOTP device: bob.")


def test_inactive_staff_and_non_staff_users_are_not_counted(clean_system, make_staff):
    make_staff(role="support", username="gone")
    User.objects.filter(username="gone").update(is_active=False)
    User.objects.create_user(username="not_staff", password="x" * 12)
    assert check("staff_second_factor")["status"] == "passed"
    assert check("staff_roles")["status"] == "passed"


def test_an_admin_site_without_the_otp_gate_fails(clean_system, monkeypatch):
    from django.contrib import admin

    monkeypatch.setattr(admin, "site", admin.AdminSite())
    result = check("staff_second_factor")
    assert result["status"] == "failed"
    assert result["evidence"].startswith("admin site AdminSite is not an OTPAdminSite")


# --- 7.2.1 ---------------------------------------------------------------------------------------


def test_a_staff_user_in_no_role_fails(clean_system, enrolled_staff):
    enrolled_staff(role=None, username="dave")
    result = check("staff_roles")
    assert result["status"] == "failed"
    assert result["evidence"] == ("1 of 3 active staff users are in no role group: dave (roles: admin, operator, "
                                  "risk_analyst, finance, support, auditor).")
    # A group that is not a role does not count.
    User.objects.get(username="dave").groups.add(Group.objects.create(name="friends"))
    assert check("staff_roles")["status"] == "failed"


# --- settings: 8.3.6, 8.3.4, 8.2.8, 2.2.6 ----------------------------------------------------------


def test_debug_on_fails(clean_system, settings):
    settings.DEBUG = True
    assert check("debug_off")["status"] == "failed"
    assert check("debug_off")["evidence"].startswith("DEBUG=True ")


@pytest.mark.parametrize(("age", "every", "status"), [(900, True, "passed"), (600, True, "passed"),
                                                      (1800, True, "failed"), (900, False, "failed")])
def test_idle_session_timeout(clean_system, settings, age, every, status):
    settings.SESSION_COOKIE_AGE = age
    settings.SESSION_SAVE_EVERY_REQUEST = every
    result = check("session_idle_timeout")
    assert result["status"] == status
    assert result["evidence"].startswith(f"SESSION_COOKIE_AGE={age} s (required: at most 900 s), "
                                         f"SESSION_SAVE_EVERY_REQUEST={every} ")


def test_a_short_minimum_password_length_fails(clean_system, settings):
    settings.AUTH_PASSWORD_VALIDATORS = [
        {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}}]
    result = check("password_length")
    assert (result["status"], result["evidence"]) == (
        "failed", "AUTH_PASSWORD_VALIDATORS: MinimumLengthValidator min_length=8 (required: at least 12); "
                  "1 validators configured.")
    settings.AUTH_PASSWORD_VALIDATORS = [
        {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"}]  # Django's default: 8
    assert check("password_length")["status"] == "failed"
    settings.AUTH_PASSWORD_VALIDATORS = []
    assert check("password_length")["evidence"] == (
        "AUTH_PASSWORD_VALIDATORS has no MinimumLengthValidator (Django's default validators allow any length).")


@pytest.mark.parametrize(("threshold", "minutes", "status"), [(10, 30, "passed"), (5, 60, "passed"),
                                                              (11, 30, "failed"), (10, 15, "failed"),
                                                              (0, 30, "failed")])
def test_lockout_settings(clean_system, settings, threshold, minutes, status):
    settings.LOGIN_LOCKOUT_THRESHOLD = threshold
    settings.LOGIN_LOCKOUT_MINUTES = minutes
    assert check("login_lockout")["status"] == status


def test_lockout_evidence_counts_locked_usernames(clean_system, settings):
    from accounts import services

    for _ in range(settings.LOGIN_LOCKOUT_THRESHOLD):
        services.login_record_failure(username="mallory", stage="password")
    assert check("login_lockout")["evidence"].endswith("; 1 username(s) locked now.")


# --- 3.5.1: the database scan -----------------------------------------------------------------------


def _no_full_number(text):
    for number in (PAN, PAN_SPACED, AMEX, "4111-1111-1111-1111"):
        assert number not in text


def test_a_card_number_in_a_json_metadata_column_fails_naming_table_column_and_row(clean_system):
    planted = CustomerFactory()
    Customer.objects.filter(pk=planted.pk).update(metadata={"note": f"card {PAN_SPACED} exp 12/30"})
    result = check("no_card_numbers_in_database")
    assert result["status"] == "failed"
    assert result["evidence"].startswith(
        f"1 card number(s) found: accounts_customer.metadata id={planted.pk} at note (…1111); scanned ")
    _no_full_number(str(pci.run_assessment()))


def test_a_card_number_in_a_text_column_and_in_a_json_key_both_fail(clean_system):
    first, second = CustomerFactory(), CustomerFactory()
    Customer.objects.filter(pk=first.pk).update(name=f"Ann {AMEX}")
    Customer.objects.filter(pk=second.pk).update(metadata={"cards": [{PAN: "yes"}]})
    evidence = check("no_card_numbers_in_database")["evidence"]
    assert evidence.startswith("2 card number(s) found: ")
    assert f"accounts_customer.name id={first.pk} (…0005)" in evidence
    # The key holding the number is named by its mask.
    assert f"accounts_customer.metadata id={second.pk} at cards[0].[…1111] (…1111)" in evidence
    _no_full_number(evidence)


def test_a_json_key_holding_a_card_number_is_reported_without_the_number(clean_system):
    planted = CustomerFactory()
    Customer.objects.filter(pk=planted.pk).update(metadata={PAN: "x"})
    evidence = check("no_card_numbers_in_database")["evidence"]
    assert evidence.startswith(f"1 card number(s) found: accounts_customer.metadata id={planted.pk} at […1111] "
                               f"(…1111); ")
    _no_full_number(evidence)


def test_a_card_number_in_a_text_column_of_a_third_party_table_fails(clean_system):
    from auditlog.models import LogEntry
    from django.contrib.contenttypes.models import ContentType

    entry = LogEntry.objects.create(content_type=ContentType.objects.get_for_model(Customer), object_pk="cus_x",
                                    object_repr="pasted 4111-1111-1111-1111", action=0)
    result = check("no_card_numbers_in_database")
    assert result["status"] == "failed"
    assert result["evidence"].startswith(f"1 card number(s) found: auditlog_logentry.object_repr id={entry.pk} "
                                         f"(…1111); ")
    _no_full_number(result["evidence"])


def test_large_tables_are_sampled_newest_first_and_the_sample_is_stated(clean_system, settings):
    settings.PCI_SCAN_SAMPLE_ROWS = 2
    start = clock.now()
    with clock.frozen_at(start - dt.timedelta(days=3)):
        old = CustomerFactory()
    with clock.frozen_at(start + dt.timedelta(days=1)):
        CustomerFactory()
    Customer.objects.filter(pk=old.pk).update(metadata={"note": PAN})
    result = check("no_card_numbers_in_database")
    # 3 customers: the oldest (with the number) is outside the sample of 2, and the evidence says so.
    assert result["status"] == "passed"
    assert "accounts_customer (2 of 3)" in result["evidence"]
    assert "the newest 2 rows of each table" in result["evidence"]
    settings.PCI_SCAN_SAMPLE_ROWS = 3
    assert check("no_card_numbers_in_database")["status"] == "failed"


def test_ordinary_numbers_are_not_card_numbers(clean_system):
    planted = CustomerFactory()
    Customer.objects.filter(pk=planted.pk).update(
        metadata={"amount": "42424242424.24", "phone": "+1 555 0100", "order": 4111111111111112, "ok": True},
        name="pay_4111111111111111x")
    assert check("no_card_numbers_in_database")["status"] == "passed"


def test_the_scan_covers_every_table_with_text_columns(clean_system):
    evidence = check("no_card_numbers_in_database")["evidence"]
    tables = len(pci.scanned_models())
    total = sum(m._base_manager.count() for m in pci.scanned_models())
    assert f"scanned {total} of {total} rows in {tables} tables" in evidence
    labels = {m._meta.label for m in pci.scanned_models()}
    assert {"accounts.Customer", "core.AuditEvent", "payments.Payment", "compliance.PciAssessment"} <= labels


# --- 3.5.1: log files -----------------------------------------------------------------------------------


@pytest.fixture
def file_logging(settings, tmp_path):
    path = tmp_path / "app.log"
    settings.LOGGING = {"version": 1, "handlers": {
        "console": {"class": "logging.StreamHandler"},
        "file": {"class": "logging.handlers.RotatingFileHandler", "filename": str(path)}}}
    return path


def test_a_card_number_in_a_recent_log_file_fails(clean_system, file_logging):
    file_logging.write_text('{"msg": "ok"}\n{"msg": "charge ' + PAN_SPACED + '"}\n')
    rotated = file_logging.with_name("app.log.1")
    rotated.write_text("nothing\n")
    result = check("no_card_numbers_in_logs")
    assert result["status"] == "failed"
    assert result["evidence"] == (
        f"1 card number(s) found: {file_logging} line 2 (…1111); log files changed in the last 7 days: "
        f"app.log (2 lines), app.log.1 (1 lines) (of 2 in {file_logging.parent}).")
    _no_full_number(result["evidence"])


def test_clean_and_old_log_files_pass(clean_system, file_logging):
    file_logging.write_text("all fine 1234\n")
    old = file_logging.with_name("app.log.2")
    old.write_text(f"old {PAN}\n")
    ten_days_ago = (clock.now() - dt.timedelta(days=10)).timestamp()
    os.utime(old, (ten_days_ago, ten_days_ago))
    result = check("no_card_numbers_in_logs")
    assert result["status"] == "passed"
    assert result["evidence"] == (
        f"No Luhn-valid 13-19 digit number found; log files changed in the last 7 days: app.log (1 lines) "
        f"(of 2 in {file_logging.parent}).")


def test_the_masked_log_lines_the_app_writes_pass(clean_system, file_logging):
    from core.logging import PanMaskingFilter

    handler = logging.FileHandler(file_logging)
    handler.addFilter(PanMaskingFilter())
    log = logging.getLogger("tests.pci")
    log.addHandler(handler)
    try:
        log.warning("refused %s", PAN)
    finally:
        log.removeHandler(handler)
        handler.close()
    assert check("no_card_numbers_in_logs")["status"] == "passed"


# --- 8.3.2: API keys and secrets -------------------------------------------------------------------


def test_a_key_stored_in_clear_fails(clean_system, make_key):
    created = make_key("payments:read")
    ApiKey.objects.filter(pk=created.api_key.pk).update(secret_hash=created.raw_key[:64])
    result = check("api_keys_hashed")
    assert result["status"] == "failed"
    assert result["evidence"].endswith(f"; 1 of 2 stored hashes are 64 hex characters; not a 64-hex HMAC: "
                                       f"{created.api_key.pk}.")
    assert created.raw_key[:20] not in result["evidence"]


def test_no_hmac_secret_fails(clean_system, settings):
    settings.API_KEY_HMAC_SECRET = ""
    result = check("api_keys_hashed")
    assert result["status"] == "failed" and "keyed by API_KEY_HMAC_SECRET, EMPTY" in result["evidence"]


def _write_raw(table, column, value, pk):
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {column} = %s WHERE id = %s", [value, pk])


def test_the_second_factor_secrets_pass_the_secrets_check(clean_system, system_actor):
    """The TOTP seeds are ciphertext in their column, the backup codes only digests."""
    services.staff_user_create(actor=system_actor, username="carol", password=PASSWORD, role="finance")
    result = check("secrets_encrypted")
    assert result["status"] == "passed"
    assert ("accounts.StaffTOTPDevice.key (encrypted: EncryptedTextField, AES-256-GCM, 3 stored value(s) are v1 "
            "ciphertext)") in result["evidence"]
    assert "accounts.BackupCode.digest (hashed: HMAC-SHA256 of the code (64 hex), 10 values checked)" \
        in result["evidence"]
    assert ("webhooks.WebhookEndpoint.secret (encrypted: EncryptedTextField, AES-256-GCM, 0 stored value(s) are "
            "v1 ciphertext)") in result["evidence"]
    assert "accounts.User.password (hashed: Django's salted password hash, 3 values checked)" in result["evidence"]


def test_a_clear_seed_written_around_the_field_fails_the_secrets_check(clean_system):
    device = StaffTOTPDevice.objects.get(user__username="bob")
    _write_raw("accounts_stafftotpdevice", "key", "0123456789abcdef0123456789abcdef01234567", device.pk)
    result = check("secrets_encrypted")
    assert result["status"] == "failed"
    assert result["evidence"].endswith(
        "; stored in clear: accounts.StaffTOTPDevice.key (EncryptedTextField, but 1 of 2 stored value(s) are not "
        "v1 ciphertext (written around the field)).")


def test_a_clear_backup_code_fails_the_secrets_check(clean_system, system_actor):
    created = services.staff_user_create(actor=system_actor, username="carol", password=PASSWORD, role="finance")
    code = BackupCode.objects.filter(device__user=created.user).order_by("pk").first()
    _write_raw("accounts_backupcode", "digest", created.backup_codes[0], code.pk)
    result = check("secrets_encrypted")
    assert result["status"] == "failed"
    assert result["evidence"].endswith(
        "; stored in clear: accounts.BackupCode.digest (1 of 10 stored values are not HMAC-SHA256 of the code "
        "(64 hex)).")


def test_a_password_column_holding_clear_text_fails(clean_system):
    User.objects.filter(username="bob").update(password="hunter2hunter2")
    result = check("secrets_encrypted")
    assert result["status"] == "failed"
    assert ("accounts.User.password (1 of 2 stored values are not Django's salted password hash)"
            in result["evidence"])


# --- 8.6.3: wildcard keys ---------------------------------------------------------------------------------


def _age(key, days):
    ApiKey.objects.filter(pk=key.pk).update(created=clock.now() - dt.timedelta(days=days))


def test_an_old_active_wildcard_key_fails(clean_system, make_key):
    created = make_key("*", owner=clean_system)
    _age(created.api_key, 91)
    result = check("wildcard_keys_rotated")
    assert result["status"] == "failed"
    assert result["evidence"] == (
        f"2 active API key(s) with scope *; limit 90 days; older than the limit: {created.api_key.pk} "
        f"({created.api_key.prefix}, owner alice, 91 days old). Rotate them or narrow their scopes.")


def test_old_keys_that_are_revoked_expired_narrow_or_young_pass(clean_system, make_key):
    revoked = make_key("*", owner=clean_system).api_key
    _age(revoked, 200)
    ApiKey.objects.filter(pk=revoked.pk).update(revoked_at=clock.now())
    expired = make_key("*", owner=clean_system).api_key
    _age(expired, 200)
    ApiKey.objects.filter(pk=expired.pk).update(expires_at=clock.now() - dt.timedelta(days=1))
    narrow = make_key("payments:read", owner=clean_system).api_key
    _age(narrow, 200)
    young = make_key("*", owner=clean_system).api_key
    _age(young, 89)
    assert check("wildcard_keys_rotated")["status"] == "passed"
    # Time moves on (core.clock): the young key crosses the limit.
    with clock.frozen_at(clock.now() + dt.timedelta(days=2)):
        result = check("wildcard_keys_rotated")
    assert result["status"] == "failed" and f"older than the limit: {young.pk} " in result["evidence"]


# --- the registry and the score -----------------------------------------------------------------------


@pytest.mark.parametrize(("statuses", "expected"), [
    ([], 100), (["not_applicable"], 100), (["passed", "not_applicable"], 100), (["failed"], 0),
    (["passed", "passed", "failed"], 67), (["passed", "failed"], 50), (["passed"] + ["failed"] * 7, 13),
    (["passed"] * 10 + ["failed"], 91)])
def test_score_is_the_share_of_applicable_checks_passed_rounded_half_up(statuses, expected):
    assert pci.score([{"status": s} for s in statuses]) == expected


def test_a_check_that_raises_is_failed_and_the_others_still_run(clean_system, monkeypatch):
    def boom():
        raise RuntimeError("internal detail")

    monkeypatch.setitem(pci._registry, "zz_boom", pci.PciCheck("zz_boom", "1.1", "Boom", boom))
    result = pci.run_assessment()
    assert result["checks"][-1] == {"id": "zz_boom", "requirement": "1.1", "title": "Boom", "status": "failed",
                                    "evidence": "The check could not run: RuntimeError."}
    assert len(result["checks"]) == 15 and result["score"] == 93  # 13 of 14


def test_a_check_id_is_registered_once():
    with pytest.raises(ValueError, match="registered twice"):
        pci.pci_check(id="debug_off", requirement="2.2.6", title="again")(lambda: pci.CheckResult("passed", ""))
    with pytest.raises(ValueError):
        pci.CheckResult("ok", "not a status")


def test_without_file_logging_the_log_check_is_not_applicable_and_says_which_handlers_mask(clean_system, settings):
    settings.LOGGING = {"version": 1, "handlers": {"plain": {"class": "logging.StreamHandler"}}}
    result = check("no_card_numbers_in_logs")
    assert (result["status"], result["evidence"]) == (
        "not_applicable", "No file logging: LOGGING has no handler with a filename (handlers: plain "
                          "(logging.StreamHandler, no mask)); logs leave the process on stdout.")
