"""Audit actions of approvals and thresholds (declared once; see core.audit)."""

from django.db import models

from core.audit import declare_actions


@declare_actions
class GatewayAction(models.TextChoices):
    THRESHOLD_SAVED = "mcp.threshold.saved", "An approval threshold was saved"
    THRESHOLD_DELETED = "mcp.threshold.deleted", "An approval threshold was deleted"
    APPROVAL_REQUESTED = "mcp.approval.requested", "A call above a threshold was held for approval"
    APPROVAL_APPROVED = "mcp.approval.approved", "A held call was approved"
    APPROVAL_REJECTED = "mcp.approval.rejected", "A held call was rejected"
    APPROVAL_EXECUTED = "mcp.approval.executed", "An approved call ran"
