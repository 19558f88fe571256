"""Reads of wallets and the ledger that are more than a get()."""

from __future__ import annotations

import datetime as dt

from django.db.models import Sum

from core import clock
from core.errors import NotFound
from core.ids import has_prefix

from .models import LedgerAccount, Posting, Wallet

# Kinds of entry that count against a wallet's daily outgoing limit (staff adjustments and
# reversals do not: they are corrections, not the customer spending).
OUTGOING_KINDS = ("transfer", "conversion", "withdrawal", "wallet_payment")


def wallet_get(*, wallet_id: str) -> Wallet:
    if not has_prefix(wallet_id, "wal"):
        raise NotFound("No such wallet.", details={"wallet_id": wallet_id})
    wallet = Wallet.objects.select_related("account").filter(pk=wallet_id).first()
    if wallet is None:
        raise NotFound("No such wallet.", details={"wallet_id": wallet_id})
    return wallet


def wallet_account(*, wallet: Wallet) -> LedgerAccount:
    return wallet.account


def utc_day_start(moment: dt.datetime | None = None) -> dt.datetime:
    moment = (moment or clock.now()).astimezone(dt.UTC)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def wallet_outgoing_today(*, wallet: Wallet) -> int:
    """Minor units sent out of the wallet since 00:00 UTC, plus what pending holds reserve."""
    sent = (Posting.objects.filter(account_id=wallet.account_id, amount__lt=0, kind__in=OUTGOING_KINDS,
                                   created__gte=utc_day_start())
            .aggregate(total=Sum("amount"))["total"]) or 0
    pending = LedgerAccount.objects.values_list("pending_debits", flat=True).get(pk=wallet.account_id)
    return -sent + pending
