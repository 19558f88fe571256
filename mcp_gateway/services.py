"""Writes of the gateway: the tool-call log, approval thresholds, approval requests and their
decisions. The approved call itself runs through `core.operations.invoke`, as the key that
made it, with its own idempotency key: exactly the service it would have run without a hold."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction

from accounts.models import ApiKey
from core import clock
from core.audit import audit_record
from core.context import Actor
from core.db import require_transaction, run_in_transaction
from core.errors import DomainError, PermissionDenied, ValidationFailed
from core.money import normalize_currency, parse_amount
from core.operations import all_operations, get_operation, invoke

from .errors import ApprovalExpired, ApprovalNotPending, SecondFactorRequired, SelfApprovalNotAllowed
from .models import ApprovalRequest, ApprovalThreshold, ToolCall
from .selectors import effective_status

APPROVAL_TTL_HOURS = 24


# --- Tool-call log ----------------------------------------------------------------------


def tool_call_record(**fields: Any) -> ToolCall:
    """One row per call, in its own (auto-committed) statement: a call whose effect rolled
    back is still logged."""
    # A savepoint when called inside a transaction, so a failed insert cannot poison it.
    with transaction.atomic():
        return ToolCall.objects.create(created=clock.now(), **fields)


# --- Thresholds -------------------------------------------------------------------------


def _approvable_names() -> set[str]:
    return {op.name for op in all_operations() if op.approvable}


def threshold_save(*, actor: Actor, threshold: ApprovalThreshold | None = None, api_key: ApiKey | None,
                   operation: str, currency: str, amount: object) -> ApprovalThreshold:
    """Create or change a threshold; `amount` is in major units ("500.00")."""
    require_transaction()
    if operation not in _approvable_names():
        raise ValidationFailed({"operation": [f"{operation!r} is not an operation that can be held for approval."]})
    currency = normalize_currency(currency)
    minor = parse_amount(amount, currency, allow_zero=True)
    now = clock.now()
    if threshold is None:
        threshold = ApprovalThreshold(created=now)
    threshold.api_key, threshold.operation, threshold.currency = api_key, operation, currency
    threshold.amount, threshold.updated = minor, now
    threshold.save()
    audit_record(action="mcp.threshold.saved", actor=actor, obj=threshold,
                 details={"operation": operation, "currency": currency, "amount": minor,
                          "api_key": api_key.pk if api_key else None})
    return threshold


def threshold_delete(*, actor: Actor, threshold: ApprovalThreshold) -> None:
    require_transaction()
    audit_record(action="mcp.threshold.deleted", actor=actor, obj=threshold,
                 details={"operation": threshold.operation, "currency": threshold.currency})
    threshold.delete()


# --- Approval requests ------------------------------------------------------------------


def approval_request_create(*, actor: Actor, operation: str, arguments: dict[str, Any], idempotency_key: str,
                            fingerprint: str, amount: int | None, currency: str | None,
                            threshold: ApprovalThreshold) -> ApprovalRequest:
    def create():
        now = clock.now()
        approval = ApprovalRequest.objects.create(
            api_key=actor.api_key, operation=operation, arguments=arguments, idempotency_key=idempotency_key,
            fingerprint=fingerprint, amount=amount, currency=currency or "", threshold=threshold,
            requested_at=now, expires_at=now + dt.timedelta(hours=_ttl_hours()),
        )
        audit_record(action="mcp.approval.requested", actor=actor, obj=approval,
                     details={"operation": operation, "amount": amount, "currency": currency or ""})
        return approval

    return run_in_transaction(create)


def _ttl_hours() -> int:
    return getattr(settings, "MCP_APPROVAL_TTL_HOURS", APPROVAL_TTL_HOURS)


def _lock_pending(approval_id: str, approver, second_factor_verified: bool) -> ApprovalRequest:
    approval = ApprovalRequest.objects.select_for_update().select_related("api_key").get(pk=approval_id)
    if not approver.has_perm("mcp_gateway.decide_approvalrequest"):
        raise PermissionDenied(details={"required_permission": "mcp_gateway.decide_approvalrequest"})
    if not second_factor_verified:
        raise SecondFactorRequired()
    if approval.api_key.owner_id == approver.pk:
        raise SelfApprovalNotAllowed()
    status = effective_status(approval)
    if status == ApprovalRequest.Status.EXPIRED:
        raise ApprovalExpired(details={"expires_at": clock.isoformat(approval.expires_at)})
    if status != ApprovalRequest.Status.PENDING:
        raise ApprovalNotPending(details={"status": status})
    return approval


def _decide(*, actor: Actor, approval_id: str, second_factor_verified: bool, note: str,
            status: str, action: str) -> ApprovalRequest:
    """Record a decision on a pending request, in its own transaction."""

    def decide():
        approval = _lock_pending(approval_id, actor.user, second_factor_verified)
        approval.status = status
        approval.decided_by, approval.decided_at, approval.decision_note = actor.user, clock.now(), note[:500]
        approval.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        audit_record(action=action, actor=actor, obj=approval, details={"note": note[:500]})
        return approval

    return run_in_transaction(decide)


def approval_reject(*, actor: Actor, approval_id: str, second_factor_verified: bool,
                    note: str = "") -> ApprovalRequest:
    return _decide(actor=actor, approval_id=approval_id, second_factor_verified=second_factor_verified, note=note,
                   status=ApprovalRequest.Status.REJECTED, action="mcp.approval.rejected")


def approval_approve(*, actor: Actor, approval_id: str, second_factor_verified: bool,
                     note: str = "") -> ApprovalRequest:
    """Decide, then run the stored call as its API key with its idempotency key. The decision
    commits first, so a second approver sees `approval_not_pending` and the call runs once; the
    call's own idempotency makes a re-run after a crash harmless."""
    approval = _decide(actor=actor, approval_id=approval_id, second_factor_verified=second_factor_verified,
                       note=note, status=ApprovalRequest.Status.APPROVED, action="mcp.approval.approved")
    op = get_operation(approval.operation)
    try:
        result = invoke(op, actor=Actor.for_api_key(approval.api_key), data=dict(approval.arguments),
                        idempotency_key=approval.idempotency_key, skip_gates=True)
        status, body = result.status, result.body
    except DomainError as exc:
        status, body = exc.status, {"error": exc.to_dict()}

    def settle():
        ApprovalRequest.objects.filter(pk=approval.pk).update(
            status=ApprovalRequest.Status.EXECUTED, result_status=status, result_body=body)
        audit_record(action="mcp.approval.executed", actor=actor, object_type="mcp_gateway.approvalrequest",
                     object_id=approval.pk, outcome="success" if status < 400 else "failure",
                     details={"result_status": status})

    run_in_transaction(settle)
    approval.refresh_from_db()
    return approval
