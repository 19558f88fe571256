"""Event types of held calls (declared once; see core.events). A key's owner who may view approval
requests (staff roles that review them) sees these events; a key sees the status of its own held calls
through `get_approval_status`."""

from django.db import models

from core.events import declare_events, declare_object, render_as
from core.operations import ANY_SCOPE

from .models import ApprovalRequest


@declare_events(scope=ANY_SCOPE, permission="approvals.view_approvalrequest")
class ApprovalsEvent(models.TextChoices):
    APPROVAL_REQUESTED = "approval.requested", "A call above a threshold was held for a person to decide"
    APPROVAL_DECIDED = "approval.decided", "A held call was approved or rejected"


declare_object(ApprovalRequest, render_as("get_approval_status"))
