from auditlog.registry import auditlog
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from . import routing
from .models import FeeSchedule, RoutingRule
from .services import postings

# Staff-edited settings keep their field history; payments themselves are audited by events.
auditlog.register(RoutingRule)
auditlog.register(FeeSchedule)


@receiver([post_save, post_delete], sender=FeeSchedule, dispatch_uid="payments.fee_schedules_changed")
def _fee_schedules_changed(**kwargs) -> None:
    # This process's next payment reads the change; other processes within settings_cache_seconds().
    postings.fee_schedules.clear_now_and_on_commit()


@receiver([post_save, post_delete], sender=RoutingRule, dispatch_uid="payments.routing_rules_changed")
def _routing_rules_changed(**kwargs) -> None:
    routing.rules.clear_now_and_on_commit()
