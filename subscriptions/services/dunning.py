"""Staff edits of the dunning schedule: each save is a new row, so the history stays."""

from __future__ import annotations

from core import clock
from core.audit import audit_record
from core.context import Actor
from core.db import run_in_transaction
from core.errors import ValidationFailed

from ..models import DunningSettings


def dunning_settings_save(*, actor: Actor, retry_days: list, final_action: str, mark_uncollectible: bool = False,
                          notify_customers: bool = True, note: str = "") -> DunningSettings:
    if (not isinstance(retry_days, list) or len(retry_days) > 20
            or any(isinstance(d, bool) or not isinstance(d, int) or not 0 < d <= 90 for d in retry_days)
            or retry_days != sorted(set(retry_days))):
        raise ValidationFailed({"retry_days": ["Increasing whole days between 1 and 90, at most 20 of them."]})
    if final_action not in DunningSettings.FinalAction.values:
        raise ValidationFailed({"final_action": [f"One of {', '.join(DunningSettings.FinalAction.values)}."]})

    def write():
        row = DunningSettings.objects.create(retry_days=retry_days, final_action=final_action,
                                             mark_uncollectible=mark_uncollectible,
                                             notify_customers=notify_customers, note=note[:200],
                                             created_by=actor.user, created=clock.now())
        audit_record(action="dunning_settings.saved", actor=actor, obj=row,
                     details={"retry_days": retry_days, "final_action": final_action})
        return row
    return run_in_transaction(write)
