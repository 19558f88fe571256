"""Reads: thresholds that apply to a call, approval status, the tool-call performance report."""

from __future__ import annotations

import datetime as dt
from itertools import groupby
from operator import itemgetter
from typing import Any

from django.db.models import Avg, Count, Max, Q

from core import clock
from core.context import Actor
from core.errors import NotFound
from core.ids import get_by_public_id

from .models import ApprovalRequest, ApprovalThreshold, ToolCall


def threshold_for(*, api_key, operation: str, currency: str | None) -> list[ApprovalThreshold]:
    """The thresholds that bind this key for this operation: per currency, a key's own one wins
    over the all-keys one. With no currency known, every currency's binding threshold."""
    qs = ApprovalThreshold.objects.filter(Q(api_key=api_key) | Q(api_key__isnull=True), operation=operation)
    if currency:
        qs = qs.filter(currency=currency)
    chosen: dict[str, ApprovalThreshold] = {}
    for threshold in qs.order_by("currency", "api_key_id"):
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
        visible = actor.user is not None and actor.user.has_perm("mcp_gateway.view_approvalrequest")
    if not visible:
        raise NotFound(_NO_APPROVAL, details={"approval_id": approval_id})
    return approval


def tool_call_report(*, since: dt.datetime, until: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Per tool: calls, errors, average and worst duration, and the p95 duration (ms)."""
    qs = ToolCall.objects.filter(created__gte=since)
    if until is not None:
        qs = qs.filter(created__lt=until)
    rows: list[Any] = list(qs.values("tool").annotate(
        calls=Count("id"),
        errors=Count("id", filter=Q(outcome__in=[ToolCall.Outcome.ERROR, ToolCall.Outcome.INTERNAL_ERROR,
                                                 ToolCall.Outcome.INVALID])),
        avg_ms=Avg("duration_ms"), max_ms=Max("duration_ms"),
    ).order_by("tool"))
    # Every tool's durations in one sorted query (not one query per tool), grouped here.
    durations = {tool: [ms for _, ms in group] for tool, group in groupby(
        qs.order_by("tool", "duration_ms").values_list("tool", "duration_ms"), key=itemgetter(0))}
    for row in rows:
        values = durations.get(row["tool"])
        row["p95_ms"] = values[min(len(values) - 1, int(0.95 * len(values)))] if values else None
    return rows
