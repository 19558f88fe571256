"""Schemathesis hooks for tests/test_schemathesis.py (loaded through `hooks` in tests/schemathesis.toml).

One hook, `filter_failure`, and each rule in it drops one precisely described kind of failure:

* RULES THE SCHEMA STATES IN WORDS. OpenAPI 3.0's JSON Schema cannot say that an amount has at most
  its currency's digits (the currency is another field, or the wallet's), that two ids must differ,
  that one of two fields is needed, that a cursor is only what `next_cursor` gave, that metadata keys
  are at most 40 characters (no `propertyNames` in 3.0), or that a 13-19 digit Luhn-valid run is a
  card number wherever it appears. The server refuses those with 400 and the documented code; a
  "schema-valid request rejected" (ST202) with exactly that answer is not a lie of the schema.
"""

from __future__ import annotations

import itertools
import json
import os
import re
from pathlib import Path
from typing import Any

import schemathesis
import yaml

SCHEMA = Path(__file__).resolve().parents[1] / "docs" / "schema.yml"

_WORDED_CODES = {
    "amount_too_precise",  # digits depend on the currency
    "amount_not_positive",  # zero is allowed for plan prices, negatives for adjustments: per field
    "raw_card_data_not_allowed",  # any Luhn-valid 13-19 digit run, in any field, number or key
    # A metrics period: from before to, and at most so many points at the resolution (monitoring).
    "invalid_period", "too_many_points",
    "invalid_metric_time",  # a measurement's time is within the last 7 days: relative to now
    "invalid_metric_tags",  # tag values are printable (str.isprintable), beyond a JSON Schema pattern
    # A custom report names a saved report or gives its metrics (at least one): an either-or across fields.
    "invalid_report_definition",
    "unknown_report_filter",  # filter names are an object's keys: OpenAPI 3.0 cannot list allowed keys
}
# The largest amount is 10**15 minor units: its major units depend on the currency's digits.
_TOO_LARGE = ("invalid_amount", "The amount is too large.")
# (field, message) of validation_error answers to rules across fields or opaque tokens.
_WORDED_FIELD_ERRORS = {
    ("to_wallet_id", "Must differ from from_wallet_id."),
    ("payment_method", "A wallet_id or payment_method is needed to pay the first invoice."),
    ("wallet_id", "Give wallet_id or payment_method, not both."),
    ("cursor", "Invalid cursor."),
    ("created_lte", "Must not be before created_gte."),
    ("start_date", "Must be before end_date."),
    # The audit report's period (compliance): from..to in order, at most AUDIT_REPORT_MAX_DAYS days.
    ("from", "Must be on or before to."),
    ("to", "A report covers at most 366 days."),
    ("metadata", "Metadata keys are up to 40 characters; values are scalars up to 500."),
    # A risk assessment names a stored payment or describes a proposed one, not both.
    *((field, message) for field in ("customer_id", "amount", "currency")
      for message in ("Not with payment_id.", "Required without payment_id.")),
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


def _exponent_amount(case, error) -> bool:
    """The refused amount was a JSON number that json.dumps wrote with an exponent (1e-05, 1e+16):
    the schema says such numbers are refused, which JSON Schema cannot state (it sees values, not text)."""
    body = case.body if isinstance(case.body, dict) else {}
    value = body.get((error.get("details") or {}).get("field"))
    return isinstance(value, float) and "e" in repr(value).lower()


def _metadata_keys_too_long(case) -> bool:
    body = case.body if isinstance(case.body, dict) else {}
    metadata = body.get("metadata")
    return isinstance(metadata, dict) and any(len(str(key)) > 40 for key in metadata)


def _worded_rule(case, response) -> str | None:
    """The rule the schema states in words that this 400 applies, if it is one of them."""
    if response.status_code != 400:
        return None
    error = _error(response)
    if error.get("code") in _WORDED_CODES:
        return error["code"]
    if (error.get("code"), error.get("message")) == _TOO_LARGE:
        return "amount too large for the currency"
    if error.get("code") == "invalid_amount" and _exponent_amount(case, error):
        return "amount as a JSON number written with an exponent"
    found = _field_errors(error)
    if not found or not found <= _WORDED_FIELD_ERRORS:
        return None
    if any(name == "metadata" for name, _ in found) and not _metadata_keys_too_long(case):
        return None
    return "cross-field or opaque: " + ", ".join(sorted(name for name, _ in found))


_sequence = itertools.count(1)


def _documented_key_pattern() -> re.Pattern:
    # This file runs inside the schemathesis process (no Django): read the pattern the schema documents.
    for path in yaml.safe_load(SCHEMA.read_text())["paths"].values():
        for operation in path.values():
            for parameter in operation.get("parameters", []):
                if (parameter["in"], parameter["name"]) == ("header", "Idempotency-Key"):
                    return re.compile(parameter["schema"]["pattern"])
    raise LookupError("docs/schema.yml documents no Idempotency-Key header")


_KEY = _documented_key_pattern()


@schemathesis.hook
def before_call(context, case, kwargs) -> None:
    """An integrator sends a fresh Idempotency-Key per request it means; generated keys repeat ("0", "!")
    and would make most writes 422 idempotency_key_reuse. A valid key gets a unique suffix (still valid);
    an invalid one is sent as generated."""
    headers = case.headers or {}
    key = headers.get("Idempotency-Key")
    if isinstance(key, str) and len(key) <= 240 and _KEY.fullmatch(key):
        headers["Idempotency-Key"] = f"{key}~{next(_sequence)}"


def _why_dropped(failure, case, response) -> str | None:
    if failure.code == "ST202":
        rule = _worded_rule(case, response)
        if rule:
            return f"worded rule: {rule}"
    # Stateful links fill path ids from earlier answers, where "" means "none" (a subscription paid by
    # card has wallet_id ""); an empty segment cannot be sent, so the request never reached the operation.
    if any(value == "" for value in (case.path_parameters or {}).values()):
        return "empty path id from a stateful link"
    return None


@schemathesis.hook
def filter_failure(context, failure, case, response) -> bool:
    """False drops the failure; SCHEMATHESIS_FILTER_LOG names a file that lists each drop and why."""
    reason = _why_dropped(failure, case, response)
    if reason and os.environ.get("SCHEMATHESIS_FILTER_LOG"):
        with open(os.environ["SCHEMATHESIS_FILTER_LOG"], "a") as log:
            log.write(f"{failure.code}\t{case.method.upper()} {case.path}\t{reason}\n")
    return reason is None
