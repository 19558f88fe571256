"""Staff-editable risk settings (one row): the score thresholds that turn a model score into a decision."""

from django.db import models


class RiskThresholds(models.Model):
    """Model scores are 0-100 (the fraud probability in percent). At or above `review_at` a payment is held
    for review; at or above `block_at` it is blocked. Saved through `risk_thresholds_save`."""

    review_at = models.PositiveSmallIntegerField(default=50)
    block_at = models.PositiveSmallIntegerField(default=90)
    updated = models.DateTimeField(null=True, blank=True)
    updated_by = models.CharField(max_length=200, blank=True)

    class Meta:
        app_label = "payments"
        verbose_name = "risk thresholds"
        verbose_name_plural = "risk thresholds"
        constraints = [models.CheckConstraint(condition=models.Q(review_at__lt=models.F("block_at"))
                                              & models.Q(block_at__lte=100), name="risk_thresholds_ordered")]

    def __str__(self):
        return f"review at {self.review_at}, block at {self.block_at}"
