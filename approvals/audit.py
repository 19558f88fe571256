"""Audit actions of approvals and thresholds (declared once; see core.audit).

The names (and the object types below) were written to the trail while approvals lived in
mcp_gateway; audit history is never rewritten, so they stay as they were."""

from django.db import models

from core.audit import declare_actions

APPROVAL_OBJECT_TYPE = "mcp_gateway.approvalrequest"
THRESHOLD_OBJECT_TYPE = "mcp_gateway.approvalthreshold"


@declare_actions
class ApprovalsAction(models.TextChoices):
    THRESHOLD_SAVED = "mcp.threshold.saved", "An approval threshold was saved"
    THRESHOLD_DELETED = "mcp.threshold.deleted", "An approval threshold was deleted"
    APPROVAL_REQUESTED = "mcp.approval.requested", "A call above a threshold was held for approval"
    APPROVAL_APPROVED = "mcp.approval.approved", "A held call was approved"
    APPROVAL_REJECTED = "mcp.approval.rejected", "A held call was rejected"
    APPROVAL_EXECUTED = "mcp.approval.executed", "An approved call ran"
