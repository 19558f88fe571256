"""Staff-edited routing rules and fee schedules (settings models with history)."""

from __future__ import annotations

from core.audit import audit_record
from core.context import Actor
from core.db import use_case
from core.errors import ValidationFailed
from core.models import stamp
from core.money import normalize_currency

from .. import providers
from ..audit import PaymentsAction
from ..models import FeeSchedule, RoutingRule


@use_case
def routing_rule_save(*, actor: Actor, rule: RoutingRule) -> RoutingRule:
    known = set(providers.configured())
    unknown = [p for p in [*rule.allowed_providers, *rule.disabled_providers] if p not in known]
    if not isinstance(rule.allowed_providers, list) or not rule.allowed_providers or unknown:
        raise ValidationFailed({"allowed_providers": [f"A non-empty list of configured providers "
                                                      f"({', '.join(sorted(known))}); unknown: {unknown}."]})
    rule.currency = normalize_currency(rule.currency) if rule.currency else ""
    created = rule.pk is None
    stamp(rule)
    rule.save()
    action = PaymentsAction.ROUTING_RULE_CREATED if created else PaymentsAction.ROUTING_RULE_UPDATED
    audit_record(action=action, actor=actor, obj=rule,
                 details={"allowed": rule.allowed_providers, "disabled": rule.disabled_providers})
    return rule


@use_case
def fee_schedule_save(*, actor: Actor, schedule: FeeSchedule) -> FeeSchedule:
    schedule.currency = normalize_currency(schedule.currency)
    if schedule.percent_bps > 10_000:
        raise ValidationFailed({"percent_bps": ["At most 10000 (100%)."]})
    created = schedule.pk is None
    stamp(schedule)
    schedule.save()
    action = PaymentsAction.FEE_SCHEDULE_CREATED if created else PaymentsAction.FEE_SCHEDULE_UPDATED
    audit_record(action=action, actor=actor, obj=schedule,
                 details={"percent_bps": schedule.percent_bps, "fixed_amount": schedule.fixed_amount})
    return schedule
