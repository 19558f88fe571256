"""The sandbox provider's own records (the provider side, not ours)."""

from django.db import models

from .providers.base import CardDetails, ProviderResult


class SandboxCharge(models.Model):
    reference = models.CharField(max_length=120, primary_key=True)
    provider = models.CharField(max_length=40)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16)
    amount_authorised = models.BigIntegerField(default=0)
    amount_captured = models.BigIntegerField(default=0)
    amount_refunded = models.BigIntegerField(default=0)
    decline_code = models.CharField(max_length=60, blank=True)

    class Meta:
        app_label = "payments"

    def __str__(self):
        return self.reference

    def as_result(self, card: CardDetails | None = None) -> ProviderResult:
        return ProviderResult(self.status, self.reference, amount_authorised=self.amount_authorised,
                              amount_captured=self.amount_captured, decline_code=self.decline_code,
                              card=card or CardDetails(), raw={"amount_refunded": self.amount_refunded})
