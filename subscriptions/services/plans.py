"""Plans: created, listed, archived; never edited in place once in use (a price change is a new plan)."""

from __future__ import annotations

from core import clock
from core.audit import audit_record
from core.context import Actor
from core.db import use_case
from core.errors import ValidationFailed
from core.money import MAX_MINOR_UNITS, normalize_currency

from ..audit import SubscriptionsAction
from ..models import Plan
from .common import _get_plan


@use_case
def plan_create(*, actor: Actor, name: str, amount: int, currency: str, interval: str, interval_count: int = 1,
                trial_days: int = 0, metadata: dict | None = None) -> Plan:
    currency = normalize_currency(currency)
    errors = {}
    if not name or len(name) > 200:
        errors["name"] = ["Required, up to 200 characters."]
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 <= amount <= MAX_MINOR_UNITS:
        errors["amount"] = ["A non-negative amount."]
    if interval not in Plan.Interval.values:
        errors["interval"] = [f"One of {', '.join(Plan.Interval.values)}."]
    if not isinstance(interval_count, int) or not 1 <= interval_count <= 365:
        errors["interval_count"] = ["Between 1 and 365."]
    if not isinstance(trial_days, int) or not 0 <= trial_days <= 730:
        errors["trial_days"] = ["Between 0 and 730."]
    if errors:
        raise ValidationFailed(errors)
    plan = Plan.objects.create(name=name, amount=amount, currency=currency, interval=interval,
                               interval_count=interval_count, trial_days=trial_days, metadata=metadata or {},
                               created=clock.now())
    audit_record(action=SubscriptionsAction.PLAN_CREATED, actor=actor, obj=plan,
                 details={"amount": amount, "currency": currency, "interval": interval})
    return plan


@use_case
def plan_archive(*, actor: Actor, plan_id: str) -> Plan:
    """Archived plans take no new subscriptions or changes; existing subscriptions keep renewing."""
    plan = _get_plan(plan_id, lock=True)
    if plan.active:
        plan.active = False
        plan.save(update_fields=["active"])
        audit_record(action=SubscriptionsAction.PLAN_ARCHIVED, actor=actor, obj=plan)
    return plan
