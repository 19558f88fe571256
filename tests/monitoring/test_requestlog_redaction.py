"""No secret, card number or e-mail address reaches a stored request log body."""

import json
import re

import pytest

from core.cards import contains_pan
from monitoring import requestlog
from monitoring.models import RequestLog
from monitoring.redaction import REDACTED, redact, redact_text
from tests.mcp.conftest import McpClient

PAN = "4242424242424242"
EMAIL = "ada.lovelace@example.com"
SECRET = "hunter2-very-secret"
BEARER = "sk_abcdefghijkl_0123456789abcdefghijklmnopqrstuv"
_ANY_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


@pytest.fixture(autouse=True)
def _request_log_on(settings):
    settings.REQUEST_LOG_ENABLED = True
    settings.REQUEST_LOG_BACKGROUND = False


def _stored_text(row: RequestLog) -> str:
    return json.dumps([row.path, row.query, row.idempotency_key, row.request_body, row.response_body],
                      ensure_ascii=False)


def _assert_clean(text: str) -> None:
    assert not contains_pan(text), text
    assert PAN[-8:] not in text.replace(" ", "")
    assert not _ANY_EMAIL.search(text), text
    assert SECRET not in text and BEARER not in text, text
    assert "lovelace" not in text.lower(), text


def test_a_refused_body_with_a_card_number_an_email_and_a_secret_is_stored_redacted(api):
    body = {"email": EMAIL, "name": "Ada Lovelace", "metadata": {"password": SECRET, "note": f"card {PAN[:4]} "
            f"{PAN[4:8]} {PAN[8:12]} {PAN[12:]}, mail {EMAIL}, auth Bearer {BEARER}"}}
    response = api.post("/api/v1/customers?contact=" + EMAIL, body, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (400, "raw_card_data_not_allowed")
    row = RequestLog.objects.get()
    _assert_clean(_stored_text(row))
    assert row.request_body == {"email": REDACTED, "name": REDACTED, "metadata": {
        "password": REDACTED, "note": f"card [PAN ****4242], mail a***@e***.com, auth Bearer {REDACTED}"}}
    assert row.query == {"contact": "a***@e***.com"}
    assert (row.status, row.error_code) == (400, "raw_card_data_not_allowed")


def test_a_created_customer_is_logged_without_its_personal_data(api):
    response = api.post("/api/v1/customers", {"email": EMAIL, "name": "Ada Lovelace", "country": "GB"},
                        format="json")
    assert response.status_code == 201
    row = RequestLog.objects.get()
    _assert_clean(_stored_text(row))
    customer = response.json()
    assert row.response_body == {**customer, "email": REDACTED, "name": REDACTED}
    assert row.request_body == {"email": REDACTED, "name": REDACTED, "country": "GB"}


def test_an_mcp_call_with_card_data_is_stored_redacted(make_key):
    mcp = McpClient(make_key("*").raw_key)
    error = mcp.error("create_customer", {"email": EMAIL, "metadata": {"note": PAN}, "idempotency_key": "c-1"})
    assert error["code"] == "raw_card_data_not_allowed", error
    row = RequestLog.objects.get()
    _assert_clean(_stored_text(row))
    assert row.request_body == {"email": REDACTED, "metadata": {"note": "[PAN ****4242]"},
                                "idempotency_key": REDACTED}
    assert (row.status, row.error_code, row.idempotency_key) == (400, "raw_card_data_not_allowed", "c-1")


def test_a_card_number_in_the_path_and_the_idempotency_key_is_masked(api):
    response = api.get(f"/api/v1/wallets/{PAN}")
    assert response.status_code == 400
    api.post("/api/v1/transfers", {}, format="json", HTTP_IDEMPOTENCY_KEY=f"k-{PAN}")
    for row in RequestLog.objects.all():
        _assert_clean(_stored_text(row))
    assert set(RequestLog.objects.values_list("path", flat=True)) == {"/api/v1/wallets/[PAN ****4242]",
                                                                       "/api/v1/transfers"}


@pytest.mark.parametrize(("value", "expected"), [
    ({"password": "x", "api_key": "sk_1", "apiKey": "k", "Authorization": "Bearer t", "client_secret": "s",
      "access_token": "t", "cvc": "123", "card_number": "4000", "pin": "1234", "otp": "123456",
      "signing_key": "k", "idempotency_key": "i"},
     {"password": REDACTED, "api_key": REDACTED, "apiKey": REDACTED, "Authorization": REDACTED,
      "client_secret": REDACTED, "access_token": REDACTED, "cvc": REDACTED, "card_number": REDACTED,
      "pin": REDACTED, "otp": REDACTED, "signing_key": REDACTED, "idempotency_key": REDACTED}),
    ({"email": "a@b.co", "phone": "+441234", "name": "Ada", "first_name": "Ada", "billing_address": {"line1": "x"},
      "date_of_birth": "1815-12-10", "username": "ada"},
     {"email": REDACTED, "phone": REDACTED, "name": REDACTED, "first_name": REDACTED, "billing_address": REDACTED,
      "date_of_birth": REDACTED, "username": REDACTED}),
    # References, amounts and empty values stay: the log must still say what was asked.
    ({"api_key_id": "key_1", "customer_id": "cus_1", "amount": "10.00", "currency": "USD", "password": ""},
     {"api_key_id": "key_1", "customer_id": "cus_1", "amount": "10.00", "currency": "USD", "password": ""}),
    ({"n": int(PAN), "list": [PAN, "ok"], "nested": {"deep": [{"x": f"{PAN[:8]}-{PAN[8:]}"}]}},
     {"n": REDACTED, "list": ["[PAN ****4242]", "ok"], "nested": {"deep": [{"x": "[PAN ****4242]"}]}}),
    ({"note": "whsec_abcDEF123 and sk_abcdefghijkl_secretpart"},
     {"note": f"{REDACTED} and {REDACTED}"}),
    ({"bad\x00key": "nul\x00value"}, {"bad\ufffdkey": "nul\ufffdvalue"}),
    ({"created": "2026-11-30T15:00:00.123456Z", "at": f"2026-11-30T15:00:00Z {PAN}"},
     {"created": "2026-11-30T15:00:00.123456Z", "at": "2026-11-30T15:00:00Z [PAN ****4242]"}),
])
def test_redact(value, expected):
    assert redact(value) == expected


@pytest.mark.parametrize(("text", "expected"), [
    # Each credential word `_SECRET_PAIR` knows, in any case, after ':' or '=': the cheap search that decides
    # whether the pair pattern runs at all must find every one of them.
    *[(f"at 2026-11-30T15:00:00Z {word}: v4lue1 done", f"at 2026-11-30T15:00:00Z {word}: {REDACTED} done")
      for word in ("client_secret", "PASSWORD", "passwd", "X-Token", "api_key", "ApiKey", "Authorization",
                   "authorisation", "Cookie", "sessionid", "csrftoken", "cvc", "CVV", "private_key", "privatekey")],
    ("retry?password=hunter2&x=1", f"retry?password={REDACTED}&x=1"),
    # Each form `_SECRET_VALUE` knows, where no ':' or '=' is.
    *[(f"key {key} here", f"key {REDACTED} here") for key in ("rk_live_abcdefgh1", "pk_test_abcdefgh2",
                                                             "sk_live_abcdefgh3", "whsec_abcdefgh4",
                                                             "sk_abcdefgh_secretpart")],
    # Nothing to find: the text comes back as it was.
    ("2026-11-30T15:00:00.123456Z", "2026-11-30T15:00:00.123456Z"),
    ("wal_5F3kq9s8d7f6g5h4j3k2l1: moved 12.34 EUR", "wal_5F3kq9s8d7f6g5h4j3k2l1: moved 12.34 EUR"),
])
def test_redact_text_finds_credentials_in_free_text(text, expected):
    assert redact_text(text) == expected
    assert redact({"note": text}) == {"note": expected}


def test_this_deployments_secrets_are_replaced_wherever_they_appear(settings):
    settings.SECRET_KEY = "django-insecure-0123456789abcdef"
    settings.API_KEY_HMAC_SECRET = "hmac-secret-fedcba9876543210"
    text = f"k={settings.SECRET_KEY[:5]} {settings.SECRET_KEY} and {settings.API_KEY_HMAC_SECRET}!"
    assert redact_text(text) == f"k={settings.SECRET_KEY[:5]} {REDACTED} and {REDACTED}!"
    assert redact({"note": text, "list": [text]}) == {"note": redact_text(text), "list": [redact_text(text)]}


def test_card_numbers_written_in_other_digits_or_with_invisible_characters_are_redacted():
    fullwidth = "".join(chr(0xFF10 + int(d)) for d in PAN)
    assert not contains_pan(json.dumps(redact({"a": fullwidth}), ensure_ascii=False))
    assert redact_text("\u200b".join(PAN)) == REDACTED


def test_a_long_body_is_cut_after_redaction_and_marked_truncated(api, settings):
    settings.REQUEST_LOG_MAX_BODY_CHARS = 200
    note = ("x" * 150) + f" {EMAIL} " + PAN
    api.post("/api/v1/customers", {"email": EMAIL, "metadata": {"note": note}}, format="json")
    row = RequestLog.objects.get()
    assert row.request_truncated is True
    assert isinstance(row.request_body, str) and len(row.request_body) == 200
    assert row.request_body.startswith('{"email": "[REDACTED]", "metadata": {"note": "xxx')
    _assert_clean(_stored_text(row))


@pytest.mark.django_db
def test_entries_written_by_the_writer_are_redacted_like_requests():
    entry = requestlog.Entry(created=requestlog.clock.now(), kind="rest", method="POST", status=200,
                             duration_ms=1.0, path="/api/v1/x", request_raw=json.dumps({"token": "t"}).encode(),
                             request_type="application/json", response_raw=b"not json " + EMAIL.encode(),
                             response_type="text/plain")
    assert requestlog.write([entry]) == 1
    row = RequestLog.objects.get()
    assert (row.request_body, row.response_body) == ({"token": REDACTED}, "not json a***@e***.com")
