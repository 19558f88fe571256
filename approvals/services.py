"""Writes of approvals: thresholds, approval requests and their decisions. The approved call
itself runs through `core.operations.invoke`, as the key that made it, with its own idempotency
key: exactly the service it would have run without a hold."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings

from accounts.models import ApiKey
from core import clock
from core.audit import audit_record
from core.context import Actor
from core.db import run_in_transaction, use_case
from core.errors import DomainError, PermissionDenied, ValidationFailed
from core.events import emit
from core.ids import get_by_public_id
from core.models import stamp
from core.money import normalize_currency, parse_amount
from core.operations import all_operations, get_operation, invoke

from .audit import APPROVAL_OBJECT_TYPE, THRESHOLD_OBJECT_TYPE, ApprovalsAction
from .errors import ApprovalExpired, ApprovalNotPending, SecondFactorRequired, SelfApprovalNotAllowed
from .events import ApprovalsEvent
from .models import ApprovalRequest, ApprovalThreshold
from .selectors import effective_status

APPROVAL_TTL_HOURS = 24
DECIDE_PERMISSION = "approvals.decide_approvalrequest"


# --- Thresholds -------------------------------------------------------------------------


def _approvable_names() -> set[str]:
    return {op.name for op in all_operations() if op.approvable}


@use_case
def threshold_save(*, actor: Actor, threshold: ApprovalThreshold | None = None, api_key: ApiKey | None,
                   operation: str, currency: str, amount: object) -> ApprovalThreshold:
    """Create or change a threshold; `amount` is in major units ("500.00")."""
    if operation not in _approvable_names():
        raise ValidationFailed({"operation": [f"{operation!r} is not an operation that can be held for approval."]})
    currency = normalize_currency(currency)
    minor = parse_amount(amount, currency, allow_zero=True)
    threshold = threshold or ApprovalThreshold()
    threshold.api_key, threshold.operation, threshold.currency, threshold.amount = api_key, operation, currency, minor
    stamp(threshold)  # created when new, updated always
    threshold.save()
    audit_record(action=ApprovalsAction.THRESHOLD_SAVED, actor=actor, obj=threshold,
                 object_type=THRESHOLD_OBJECT_TYPE,
                 details={"operation": operation, "currency": currency, "amount": minor,
                          "api_key": api_key.pk if api_key else None})
    return threshold


@use_case
def threshold_delete(*, actor: Actor, threshold: ApprovalThreshold) -> None:
    audit_record(action=ApprovalsAction.THRESHOLD_DELETED, actor=actor, obj=threshold,
                 object_type=THRESHOLD_OBJECT_TYPE,
                 details={"operation": threshold.operation, "currency": threshold.currency})
    threshold.delete()


# --- Approval requests ------------------------------------------------------------------


@use_case
def approval_request_create(*, actor: Actor, operation: str, arguments: dict[str, Any], idempotency_key: str,
                            fingerprint: str, amount: int | None, currency: str | None,
                            threshold: ApprovalThreshold) -> ApprovalRequest:
    now = clock.now()
    approval = ApprovalRequest.objects.create(
        api_key=actor.api_key, operation=operation, arguments=arguments, idempotency_key=idempotency_key,
        fingerprint=fingerprint, amount=amount, currency=currency or "", threshold=threshold,
        requested_at=now, expires_at=now + dt.timedelta(hours=_ttl_hours()),
    )
    audit_record(action=ApprovalsAction.APPROVAL_REQUESTED, actor=actor, obj=approval,
                 object_type=APPROVAL_OBJECT_TYPE,
                 details={"operation": operation, "amount": amount, "currency": currency or ""})
    emit(ApprovalsEvent.APPROVAL_REQUESTED, approval, actor=actor)
    return approval


def _ttl_hours() -> int:
    return getattr(settings, "MCP_APPROVAL_TTL_HOURS", APPROVAL_TTL_HOURS)


def check_decidable(approval: ApprovalRequest, approver, second_factor_verified: bool) -> None:
    """Why `approver` may not decide `approval` now (raises), or nothing: the decision's rules,
    shared by the decision and its preview."""
    if not approver.has_perm(DECIDE_PERMISSION):
        raise PermissionDenied(details={"required_permission": DECIDE_PERMISSION})
    if not second_factor_verified:
        raise SecondFactorRequired()
    if approval.api_key.owner_id == approver.pk:
        raise SelfApprovalNotAllowed()
    status = effective_status(approval)
    if status == ApprovalRequest.Status.EXPIRED:
        raise ApprovalExpired(details={"expires_at": clock.isoformat(approval.expires_at)})
    if status != ApprovalRequest.Status.PENDING:
        raise ApprovalNotPending(details={"status": status})


def _get(queryset, approval_id: str) -> ApprovalRequest:
    return get_by_public_id(queryset.select_related("api_key"), approval_id, field="approval_id",
                            message="No such approval request.")


@use_case
def _decide(*, actor: Actor, approval_id: str, second_factor_verified: bool, note: str,
            status: str, action: str) -> ApprovalRequest:
    """Record a decision on a pending request, in its own transaction."""
    approval = _get(ApprovalRequest.objects.select_for_update(), approval_id)
    check_decidable(approval, actor.user, second_factor_verified)
    approval.status = ApprovalRequest.Status(status).value  # the stored text, as a reload reads it
    approval.decided_by, approval.decided_at, approval.decision_note = actor.user, clock.now(), note[:500]
    approval.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    audit_record(action=action, actor=actor, obj=approval, object_type=APPROVAL_OBJECT_TYPE,
                 details={"note": note[:500]})
    emit(ApprovalsEvent.APPROVAL_DECIDED, approval, previous={"status": ApprovalRequest.Status.PENDING.value},
         actor=actor)
    return approval


@use_case
def approval_reject(*, actor: Actor, approval_id: str, second_factor_verified: bool,
                    note: str = "") -> ApprovalRequest:
    return _decide(actor=actor, approval_id=approval_id, second_factor_verified=second_factor_verified, note=note,
                   status=ApprovalRequest.Status.REJECTED, action=ApprovalsAction.APPROVAL_REJECTED)


def approval_approve_preview(*, actor: Actor, approval_id: str, second_factor_verified: bool) -> ApprovalRequest:
    """What approving would do, changing nothing: the decision's refusal, or the request as it would
    stand once approved (the held call then runs)."""
    approval = _get(ApprovalRequest.objects.all(), approval_id)
    check_decidable(approval, actor.user, second_factor_verified)
    approval.status = ApprovalRequest.Status.APPROVED.value
    approval.decided_by, approval.decided_at = actor.user, clock.now()
    return approval


@use_case(steps=True)
def approval_approve(*, actor: Actor, approval_id: str, second_factor_verified: bool,
                     note: str = "") -> ApprovalRequest:
    """Decide, then run the stored call as its API key with its idempotency key. The decision
    commits first, so a second approver sees `approval_not_pending` and the call runs once; the
    call's own idempotency makes a re-run after a crash harmless."""
    approval = _decide(actor=actor, approval_id=approval_id, second_factor_verified=second_factor_verified,
                       note=note, status=ApprovalRequest.Status.APPROVED, action=ApprovalsAction.APPROVAL_APPROVED)
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
        audit_record(action=ApprovalsAction.APPROVAL_EXECUTED, actor=actor, object_type=APPROVAL_OBJECT_TYPE,
                     object_id=approval.pk, outcome="success" if status < 400 else "failure",
                     details={"result_status": status})

    run_in_transaction(settle)
    approval.refresh_from_db()
    return approval
