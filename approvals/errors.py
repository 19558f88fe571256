from core.errors import Conflict, PermissionDenied


class ApprovalNotPending(Conflict):
    code = "approval_not_pending"
    default_message = "This approval request has already been decided."


class ApprovalExpired(Conflict):
    code = "approval_expired"
    default_message = "This approval request expired before anyone decided it."


class SelfApprovalNotAllowed(PermissionDenied):
    code = "self_approval_not_allowed"
    default_message = "A call cannot be approved or rejected by the owner of the API key that made it."


class SecondFactorRequired(PermissionDenied):
    code = "second_factor_required"
    default_message = "Deciding approvals needs a session verified with a second factor."
