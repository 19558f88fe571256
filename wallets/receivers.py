"""Model signal receivers of wallets (imported from WalletsConfig.ready())."""

from auditlog.registry import auditlog
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .models import KycLimit
from .services import kyc

# Staff-edited settings keep their field history.
auditlog.register(KycLimit)


@receiver([post_save, post_delete], sender=KycLimit, dispatch_uid="wallets.kyc_limits_changed")
def _kyc_limits_changed(**kwargs) -> None:
    # This process's next movement reads the change; other processes within KYC_LIMITS_CACHE_SECONDS.
    kyc.kyc_limits.clear_now_and_on_commit()
