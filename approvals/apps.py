from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    """Approval thresholds and the calls they hold. Its gate binds API keys at both doors: it is
    installed into `core.operations` here, so core (which may not import this app) consults it."""

    name = "approvals"
    verbose_name = "Approvals"

    def ready(self):
        from core import operations

        from . import audit, events  # noqa: F401
        from . import operations as _ops  # noqa: F401  (registers get_approval_status)
        from .gate import hold, would_hold

        operations.install_approval_gate(hold=hold, would_hold=would_hold)

        from django.db.models.signals import post_delete, post_save

        from core.snapshots import invalidating

        from .models import ApprovalThreshold
        from .selectors import THRESHOLDS

        stale = invalidating(THRESHOLDS)
        post_save.connect(stale, sender=ApprovalThreshold, weak=False, dispatch_uid="approvals.thresholds.save")
        post_delete.connect(stale, sender=ApprovalThreshold, weak=False, dispatch_uid="approvals.thresholds.delete")
