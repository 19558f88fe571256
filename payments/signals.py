from auditlog.registry import auditlog

from .models import FeeSchedule, RoutingRule

# Staff-edited settings keep their field history; payments themselves are audited by events.
auditlog.register(RoutingRule)
auditlog.register(FeeSchedule)
