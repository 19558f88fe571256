"""Public operations of approvals: the status of a call held for approval."""

from core.operations import ANY_SCOPE, Operation, register

from . import selectors
from .serializers import ApprovalSerializer, ApprovalStatusInput


def _get(*, actor, approval_id):
    return selectors.approval_get(actor=actor, approval_id=approval_id)


register(Operation(
    name="get_approval_status", title="Get approval status",
    description=("Reports a call that was held for approval (its apr_ id came back with status "
                 "pending_approval): status is pending_approval, approved (running), rejected, expired "
                 "(nobody decided within 24 hours) or executed; once executed, result holds the call's result "
                 "object or error its error object, exactly as the call itself would have answered. A key "
                 "sees only its own requests. Errors: not_found."),
    handler=_get, scope=ANY_SCOPE, input=ApprovalStatusInput, output=ApprovalSerializer, tags=("approvals",),
))
