"""The approval gate that `core.operations.invoke` consults for `approvable` operations.

It binds API keys in both doors (REST answers 202, MCP a normal result). Staff users acting
in the admin are not held: the gate guards what keys (agents, scripts) can do on their own.

What a call is worth, without business knowledge of the operation:
- `amount` and `currency` from the call's own arguments (wire format, major units);
- without a `currency` argument, the currency of the target object, read through the
  read-only operation that takes the same `<object>_id` (refund_payment -> get_payment_status);
- without an `amount` ("the whole remainder"), the amount is unknown and any binding
  threshold holds the call.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError

from core.clock import isoformat
from core.context import Actor
from core.errors import DomainError, IdempotencyKeyReuse
from core.idempotency import WriteResult, fingerprint, validate_key
from core.ids import new_id
from core.models import IdempotencyRecord
from core.money import format_amount, normalize_currency, parse_amount
from core.operations import Operation, all_operations, invoke

from . import selectors, services
from .models import ApprovalRequest, ApprovalThreshold


def reader_for(op: Operation, data: dict[str, Any]) -> tuple[Operation, dict[str, Any]] | None:
    """The read-only operation that shows the target of `op`'s call, and its arguments."""
    ids = [(name, value) for name, value in data.items() if name.endswith("_id") and isinstance(value, str)]
    if not ids or op.input is None:
        return None
    first_declared = next((name for name in op.input().fields.keys() if name in dict(ids)), None)
    if first_declared is None:
        return None
    id_field, value = first_declared, dict(ids)[first_declared]
    candidates = []
    for reader in all_operations():
        if not reader.read_only or reader.many or reader.input is None or reader is op:
            continue
        fields = reader.input().fields
        required = {name for name, field in fields.items() if field.required}
        if id_field in fields and required <= {id_field}:
            candidates.append((not reader.name.startswith("get_"), len(fields), reader.name, reader))
    if not candidates:
        return None
    return min(candidates)[3], {id_field: value}


def target_state(op: Operation, actor: Actor, data: dict[str, Any]) -> dict[str, Any] | None:
    found = reader_for(op, data)
    if found is None:
        return None
    reader, args = found
    body = invoke(reader, actor=actor, data=args).body
    return body if isinstance(body, dict) else None


def call_value(op: Operation, actor: Actor, data: dict[str, Any]) -> tuple[int | None, str | None]:
    """(amount in minor units or None, currency or None) of a call."""
    currency = data.get("currency")
    if isinstance(currency, str) and currency:
        currency = normalize_currency(currency)
    else:
        state = target_state(op, actor, data)
        currency = state.get("currency") if state else None
    raw = data.get("amount")
    if raw is None or currency is None:
        return None, currency
    return parse_amount(raw, currency), currency


def held_body(approval: ApprovalRequest) -> dict[str, Any]:
    amount = format_amount(approval.amount, approval.currency) if approval.amount is not None else None
    return {"status": selectors.effective_status(approval), "approval_id": approval.pk,
            "operation": approval.operation, "amount": amount, "currency": approval.currency or None,
            "expires_at": isoformat(approval.expires_at)}


def _replay(approval: ApprovalRequest) -> WriteResult:
    if approval.result_status is not None and approval.result_status >= 400:
        err = (approval.result_body or {}).get("error", {})
        exc = DomainError(err.get("message"), code=err.get("code"), status=approval.result_status,
                          details=err.get("details"))
        exc.replayed = True
        raise exc
    return WriteResult(approval.result_status or 200, approval.result_body, replayed=True)


def _answer_existing(existing: ApprovalRequest, fp: str, op: Operation) -> WriteResult:
    """The answer to a call whose idempotency key already holds an approval request."""
    if existing.fingerprint != fp or existing.operation != op.name:
        raise IdempotencyKeyReuse(details={"operation": existing.operation})
    if existing.status == ApprovalRequest.Status.EXECUTED:
        return _replay(existing)
    return WriteResult(202, held_body(existing), replayed=True)


def _exceeded(op: Operation, actor: Actor,
              data: dict[str, Any]) -> tuple[ApprovalThreshold, int | None, str | None] | None:
    """The threshold this call is above, with the call's (amount, currency); None if it runs."""
    if not selectors.threshold_for(api_key=actor.api_key, operation=op.name, currency=None):
        return None  # nothing binds this key here: no need to work out what the call is worth
    amount, currency = call_value(op, actor, data)
    threshold = selectors.exceeded_threshold(api_key=actor.api_key, operation=op.name, amount=amount,
                                             currency=currency)
    return None if threshold is None else (threshold, amount, currency)


def approval_gate(*, op: Operation, actor: Actor, data: dict[str, Any], validated: dict[str, Any],
                  idempotency_key: str | None) -> WriteResult | None:
    if actor.api_key is None:
        return None
    fp = fingerprint(op.name, data)
    if idempotency_key is not None:
        idempotency_key = validate_key(idempotency_key)
        existing = selectors.approval_for_key(api_key=actor.api_key, idempotency_key=idempotency_key)
        if existing is not None:
            return _answer_existing(existing, fp, op)
        if IdempotencyRecord.objects.filter(scope=actor.idempotency_scope[:80], key=idempotency_key).exists():
            return None  # ran before without a hold: the idempotency layer replays it
    exceeded = _exceeded(op, actor, data)
    if exceeded is None:
        return None
    threshold, amount, currency = exceeded
    # REST keys are optional; the held call still needs one to run exactly once when approved.
    key = idempotency_key or f"approval:{fp[:32]}:{_unique_suffix()}"
    try:
        approval = services.approval_request_create(
            actor=actor, operation=op.name, arguments=data, idempotency_key=key, fingerprint=fp,
            amount=amount, currency=currency or threshold.currency, threshold=threshold)
    except IntegrityError:
        # The same key arrived twice at once: the other request created the hold.
        existing = selectors.approval_for_key(api_key=actor.api_key, idempotency_key=key)
        if existing is None:
            raise IdempotencyKeyReuse(details={"operation": op.name}) from None
        return _answer_existing(existing, fp, op)
    return WriteResult(202, held_body(approval))


def _unique_suffix() -> str:
    return new_id("k")


def would_hold(op: Operation, actor: Actor, data: dict[str, Any]) -> dict[str, Any] | None:
    """For dry runs: the threshold a real call would be held by, without creating anything."""
    if not op.approvable or actor.api_key is None:
        return None
    exceeded = _exceeded(op, actor, data)
    if exceeded is None:
        return None
    threshold = exceeded[0]
    return {"threshold_amount": format_amount(threshold.amount, threshold.currency),
            "currency": threshold.currency}
