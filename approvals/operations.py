"""Public operations of approvals: the status of a call held for approval (every door), and the
staff's decisions on it (the admin door only: keys never decide their own held calls)."""

from core.operations import ANY_SCOPE, Operation, register

from . import selectors, services
from .serializers import ApprovalDecisionInput, ApprovalSerializer, ApprovalStatusInput

_ADMIN_ONLY = frozenset({"admin"})
_DECISION_ERRORS = ("Errors: not_found, permission_denied, second_factor_required, self_approval_not_allowed, "
                    "approval_expired, approval_not_pending.")


def _get(*, actor, approval_id):
    return selectors.approval_get(actor=actor, approval_id=approval_id)


def _verified(actor) -> bool:
    # Staff sessions past the second factor (django-otp marks the request's user).
    return bool(getattr(actor.user, "is_verified", lambda: False)())


def _approve(*, actor, approval_id, note=""):
    return services.approval_approve(actor=actor, approval_id=approval_id, second_factor_verified=_verified(actor),
                                     note=note)


def _approve_preview(*, actor, approval_id, note=""):
    return services.approval_approve_preview(actor=actor, approval_id=approval_id,
                                             second_factor_verified=_verified(actor))


def _reject(*, actor, approval_id, note=""):
    return services.approval_reject(actor=actor, approval_id=approval_id, second_factor_verified=_verified(actor),
                                    note=note)


register(Operation(
    name="get_approval_status", title="Get approval status",
    description=("Reports a call that was held for approval (its apr_ id came back with status "
                 "pending_approval): status is pending_approval, approved (running), rejected, expired "
                 "(nobody decided within 24 hours) or executed; once executed, result holds the call's result "
                 "object or error its error object, exactly as the call itself would have answered. A key "
                 "sees only its own requests. Errors: not_found."),
    handler=_get, scope=ANY_SCOPE, input=ApprovalStatusInput, output=ApprovalSerializer, tags=("approvals",),
))
register(Operation(
    name="approve_approval_request", title="Approve a held call",
    description=("Approves a call held for approval, then runs it once as the API key that made it, with its "
                 "arguments and idempotency key; the call's result or refusal is stored on the request. Needs "
                 "approvals.decide_approvalrequest, a session verified with a second factor, and not being the "
                 "owner of the key. " + _DECISION_ERRORS),
    handler=_approve, preview=_approve_preview, scope="payments:write",
    permission=services.DECIDE_PERMISSION, input=ApprovalDecisionInput, output=ApprovalSerializer, read_only=False,
    # The held call may reach a provider: the decision and the call commit in steps of their own.
    destructive=True, open_world=True, idempotency_mode="lease", doors=_ADMIN_ONLY, tags=("approvals",),
))
register(Operation(
    name="reject_approval_request", title="Reject a held call",
    description=("Rejects a call held for approval: it never runs, and the key sees status rejected. Needs "
                 "approvals.decide_approvalrequest, a session verified with a second factor, and not being the "
                 "owner of the key. " + _DECISION_ERRORS),
    handler=_reject, scope="payments:write", permission=services.DECIDE_PERMISSION, input=ApprovalDecisionInput,
    output=ApprovalSerializer, read_only=False, destructive=True, doors=_ADMIN_ONLY, tags=("approvals",),
))
