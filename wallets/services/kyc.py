"""KYC limits: what a customer whose KYC is not verified may move out of a wallet per UTC day.

Gated: withdrawals (`daily_withdrawal_limit`), and outgoing transfers and conversions together
(`daily_outgoing_limit`), per currency, from the staff-edited `KycLimit` rows (seeded by migration
0007). A verified customer is never gated and costs no statement: the status comes with the wallet lock
(`wallet_lock*` select the customer) and the limits from a per-process cache. Incoming money, refunds,
top-ups and staff adjustments are never gated (they do not call this). The usage of the day is read
under the source wallet's lock, so two concurrent movements out of one wallet cannot both pass.
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import Sum

from accounts.models import Customer
from core.audit import audit_record
from core.context import Actor
from core.db import require_transaction, use_case
from core.errors import ValidationFailed, money_details
from core.localcache import LocalCache
from core.models import stamp
from core.money import normalize_currency

from ..audit import WalletsAction
from ..errors import KycRequired
from ..models import KycLimit, Posting, Wallet
from ..selectors import utc_day_start

WITHDRAWAL = "withdrawal"
TRANSFER = "transfer"
CONVERSION = "conversion"
# The entry kinds each limit counts (posting kinds on the source wallet's account).
_COUNTED = {WITHDRAWAL: ("withdrawal",), TRANSFER: ("transfer", "conversion"), CONVERSION: ("transfer", "conversion")}


def _cache_seconds() -> float:
    return float(getattr(settings, "KYC_LIMITS_CACHE_SECONDS", 5))


# Every row, by (kyc_status, currency); cleared by wallets.receivers on save and delete.
kyc_limits: LocalCache[dict[tuple[str, str], KycLimit]] = LocalCache("wallets.kyc_limits", seconds=_cache_seconds)


def _limits() -> dict[tuple[str, str], KycLimit]:
    return kyc_limits.get("all", lambda: {(r.kyc_status, r.currency): r for r in KycLimit.objects.all()})


def kyc_daily_limit(*, kyc_status: str, currency: str, movement: str) -> int | None:
    """Minor units of `movement` allowed per UTC day; None: no limit. No row for a gated status: 0."""
    if kyc_status == Customer.KycStatus.VERIFIED:
        return None
    row = _limits().get((kyc_status, currency))
    if row is None:
        return 0
    return row.daily_withdrawal_limit if movement == WITHDRAWAL else row.daily_outgoing_limit


def kyc_used_today(*, wallet: Wallet, movement: str) -> int:
    """Minor units that count against `movement`'s limit sent out of the wallet since 00:00 UTC."""
    sent = (Posting.objects.filter(account_id=wallet.account_id, amount__lt=0, kind__in=_COUNTED[movement],
                                   created__gte=utc_day_start()).aggregate(total=Sum("amount"))["total"]) or 0
    return -sent


def ensure_kyc_allows(wallet: Wallet, amount: int, *, movement: str) -> None:
    """Refuses (422 kyc_required) `amount` out of `wallet` beyond what its customer's KYC status allows
    today. `wallet`: locked by the caller with its customer selected (`wallet_lock*`)."""
    require_transaction()
    customer = wallet.customer
    limit = kyc_daily_limit(kyc_status=customer.kyc_status, currency=wallet.currency, movement=movement)
    if limit is None:
        return
    used = kyc_used_today(wallet=wallet, movement=movement)
    if used + amount > limit:
        what = "withdraw" if movement == WITHDRAWAL else "send or convert"
        message = (f"A customer whose KYC status is {customer.kyc_status} cannot {what} this much today."
                   if limit else f"A customer whose KYC status is {customer.kyc_status} cannot {what}.")
        raise KycRequired(message, details={
            "customer_id": customer.pk, "wallet_id": wallet.pk, "kyc_status": customer.kyc_status,
            "movement": movement, **money_details(wallet.currency, daily_limit=limit, used_today=used,
                                                  amount=amount)})


def _check_limit(field: str, value: object) -> None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
        raise ValidationFailed({field: ["Must be empty (no limit) or a non-negative number of minor units."]})


@use_case
def kyc_limit_save(*, actor: Actor, limit: KycLimit) -> KycLimit:
    """Saves a staff edit of a KYC limit row (the admin's one write), audited; its history is in auditlog."""
    limit.currency = normalize_currency(limit.currency)
    if limit.kyc_status not in {s.value for s in KycLimit.GATED_STATUSES}:
        raise ValidationFailed({"kyc_status": ["Verified customers have no KYC limit."]})
    _check_limit("daily_outgoing_limit", limit.daily_outgoing_limit)
    _check_limit("daily_withdrawal_limit", limit.daily_withdrawal_limit)
    created = limit.pk is None
    stamp(limit)
    limit.save()
    audit_record(action=WalletsAction.KYC_LIMIT_CREATED if created else WalletsAction.KYC_LIMIT_UPDATED,
                 actor=actor, obj=limit,
                 details={"kyc_status": limit.kyc_status, "currency": limit.currency,
                          **money_details(limit.currency, daily_outgoing_limit=limit.daily_outgoing_limit,
                                          daily_withdrawal_limit=limit.daily_withdrawal_limit)})
    return limit
