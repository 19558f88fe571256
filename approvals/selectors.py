"""Reads: the thresholds that bind a call, approval requests and their status."""

from __future__ import annotations

import datetime as dt

from core import clock
from core.context import Actor
from core.errors import NotFound
from core.ids import get_by_public_id
from core.snapshots import Snapshots

from .models import ApprovalRequest, ApprovalThreshold

# Every threshold, as the gate reads them on each approvable call (a short table staff edit rarely;
# ApprovalsConfig.ready() invalidates it when one is saved or deleted).
THRESHOLDS = Snapshots("approval_thresholds")


def _all_thresholds() -> list[ApprovalThreshold]:
    return list(ApprovalThreshold.objects.order_by("currency", "api_key_id"))


def threshold_for(*, api_key, operation: str, currency: str | None) -> list[ApprovalThreshold]:
    """The thresholds that bind this key for this operation: per currency, a key's own one wins
    over the all-keys one. With no currency known, every currency's binding threshold."""
    key_id = api_key.pk if api_key is not None else None
    chosen: dict[str, ApprovalThreshold] = {}
    for threshold in THRESHOLDS.get("all", _all_thresholds):
        if threshold.operation != operation or threshold.api_key_id not in (None, key_id):
            continue
        if currency and threshold.currency != currency:
            continue
        current = chosen.get(threshold.currency)
        if current is None or (current.api_key_id is None and threshold.api_key_id is not None):
            chosen[threshold.currency] = threshold
    return list(chosen.values())


def exceeded_threshold(*, api_key, operation: str, amount: int | None,
                       currency: str | None) -> ApprovalThreshold | None:
    """The threshold this call is above, or None. An unknown amount (the call takes "the whole
    remainder") counts as above any binding threshold: the gate cannot know it without running
    the effect."""
    for threshold in threshold_for(api_key=api_key, operation=operation, currency=currency):
        if amount is None or amount > threshold.amount:
            return threshold
    return None


def approval_for_key(*, api_key, idempotency_key: str) -> ApprovalRequest | None:
    return ApprovalRequest.objects.filter(api_key=api_key, idempotency_key=idempotency_key).first()


def effective_status(approval: ApprovalRequest, now: dt.datetime | None = None) -> str:
    """Pending requests past their expiry read as expired (nobody can decide them any more)."""
    if approval.status == ApprovalRequest.Status.PENDING and approval.expires_at <= (now or clock.now()):
        return ApprovalRequest.Status.EXPIRED
    return approval.status


_NO_APPROVAL = "No such approval request."


def approval_get(*, actor: Actor, approval_id: str) -> ApprovalRequest:
    """An approval request the caller may see: an API key sees its own; staff with the view
    permission see all. Anything else is `not_found`, so ids of others' requests leak nothing."""
    approval = get_by_public_id(ApprovalRequest.objects.select_related("decided_by", "api_key"), approval_id,
                                field="approval_id", message=_NO_APPROVAL)
    if actor.api_key is not None:
        visible = approval.api_key_id == actor.api_key.pk
    else:
        visible = actor.user is not None and actor.user.has_perm("approvals.view_approvalrequest")
    if not visible:
        raise NotFound(_NO_APPROVAL, details={"approval_id": approval_id})
    return approval
