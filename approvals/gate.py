"""The approval gate that `core.operations.invoke` consults for `approvable` operations
(installed from ApprovalsConfig.ready()).

It binds API keys in both doors (REST answers 202, MCP a normal result). Staff users acting
in the admin are not held: the gate guards what keys (agents, scripts) can do on their own.

What a call is worth is the operation's own declaration (`Operation(value=...)`, usually
`amount_value()`: the amount argument in the currency argument's or the target object's
currency, the target read once per call). A call without an amount ("the whole remainder")
is held by any binding threshold.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError

from core.clock import isoformat
from core.errors import DomainError, IdempotencyKeyReuse
from core.idempotency import WriteResult, fingerprint, validate_key
from core.ids import new_id
from core.models import IdempotencyRecord
from core.money import format_amount
from core.operations import Call, Operation

from . import selectors, services
from .models import ApprovalRequest, ApprovalThreshold


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


def _exceeded(call: Call) -> tuple[ApprovalThreshold, int | None, str | None] | None:
    """The threshold this call is above, with the call's (amount, currency); None if it runs."""
    api_key, name = call.actor.api_key, call.op.name
    if not selectors.threshold_for(api_key=api_key, operation=name, currency=None):
        return None  # nothing binds this key here: no need to work out what the call is worth
    amount, currency = call.value()
    threshold = selectors.exceeded_threshold(api_key=api_key, operation=name, amount=amount, currency=currency)
    return None if threshold is None else (threshold, amount, currency)


def hold(call: Call, *, idempotency_key: str | None) -> WriteResult | None:
    """The gate: None lets the call run; a 202 answer when it is held (or was, under this key)."""
    op, actor, data = call.op, call.actor, call.data
    if actor.api_key is None:
        return None
    if not selectors.threshold_for(api_key=actor.api_key, operation=op.name, currency=None):
        # Nothing binds this key here (the thresholds are cached): no query on the common path. A
        # retry of a call held under a threshold removed since then runs, and the approval's own
        # run later replays it: both go through the idempotency record of the same key.
        return None
    fp = fingerprint(op.name, data)
    if idempotency_key is not None:
        idempotency_key = validate_key(idempotency_key)
        existing = selectors.approval_for_key(api_key=actor.api_key, idempotency_key=idempotency_key)
        if existing is not None:
            return _answer_existing(existing, fp, op)
        if IdempotencyRecord.objects.filter(scope=actor.idempotency_scope[:80], key=idempotency_key).exists():
            return None  # ran before without a hold: the idempotency layer replays it
    exceeded = _exceeded(call)
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


def would_hold(call: Call) -> dict[str, Any] | None:
    """For dry runs: the threshold a real call would be held by, without creating anything."""
    if not call.op.approvable or call.actor.api_key is None:
        return None
    exceeded = _exceeded(call)
    if exceeded is None:
        return None
    threshold = exceeded[0]
    return {"threshold_amount": format_amount(threshold.amount, threshold.currency),
            "currency": threshold.currency}
