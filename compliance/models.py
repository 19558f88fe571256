from django.db import models

from core.ids import PublicIdField
from core.models import ActorStamped


# --- PCI self-assessment ---------------------------------------------------------------------------
class PciAssessment(ActorStamped, models.Model):
    """One recorded run of the PCI DSS self-assessment (compliance.pci): what each check saw, then."""

    id = PublicIdField(prefix="pci")
    score = models.PositiveSmallIntegerField(help_text="Share of applicable checks passed, 0-100.")
    passed = models.PositiveSmallIntegerField()
    failed = models.PositiveSmallIntegerField()
    not_applicable = models.PositiveSmallIntegerField()
    checks = models.JSONField(default=list, help_text="Each check: id, requirement, title, status, evidence.")
    created = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created", "-id"]
        verbose_name = "PCI assessment"

    def __str__(self) -> str:
        return f"PCI assessment {self.id}: {self.score}/100"
