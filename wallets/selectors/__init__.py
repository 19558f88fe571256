"""Reads of wallets and the ledger that are more than a get()."""

from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal

from django.db import connection
from django.db.models import Q, Sum

from core import clock
from core.errors import NotFound, ValidationFailed
from core.ids import get_by_public_id, has_prefix
from core.money import normalize_currency
from core.pagination import Page, filter_present, paginate

from ..errors import RateNotFound
from ..fx import invert
from ..models import ExchangeRate, LedgerAccount, Posting, Wallet

# Kinds of entry that count against a wallet's daily outgoing limit (staff adjustments and
# reversals do not: they are corrections, not the customer spending).
OUTGOING_KINDS = ("transfer", "conversion", "withdrawal", "wallet_payment")


def require_period(start: dt.datetime, end: dt.datetime) -> None:
    """A period of a wallet's history or insights runs forward: an empty or reversed one is a client's mistake."""
    if start >= end:
        raise ValidationFailed({"start_date": ["Must be before end_date."]})


def wallet_get(*, wallet_id: str) -> Wallet:
    return get_by_public_id(Wallet.objects.select_related("account"), wallet_id, field="wallet_id",
                            message="No such wallet.")


def wallet_currency(*, wallet_id: str) -> str:
    """The wallet's currency, which never changes once the wallet exists: what a door needs to read an amount given
    in it. Read once per process for the last `_CURRENCIES_KEPT` wallets asked about; an unknown id is 404 every
    time (nothing kept)."""
    return _currency_of(wallet_id)


_CURRENCIES_KEPT = 16_384


@functools.lru_cache(maxsize=_CURRENCIES_KEPT)
def _currency_of(wallet_id: str) -> str:
    return get_by_public_id(Wallet.objects.only("currency"), wallet_id, field="wallet_id",
                            message="No such wallet.").currency


def wallet_find(*, customer_id: str, currency: str) -> Wallet:
    currency = normalize_currency(currency)
    if not has_prefix(customer_id, "cus"):
        raise NotFound("No such wallet.", details={"customer_id": customer_id, "currency": currency})
    wallet = Wallet.objects.select_related("account").filter(customer_id=customer_id, currency=currency).first()
    if wallet is None:
        raise NotFound("No such wallet.", details={"customer_id": customer_id, "currency": currency})
    return wallet


def wallet_list(*, customer_id: str | None = None, currency: str | None = None, status: str | None = None,
                created_gte: dt.datetime | None = None, created_lte: dt.datetime | None = None,
                limit: int | None = None, cursor: str | None = None) -> Page:
    qs = filter_present(Wallet.objects.select_related("account"), customer_id=customer_id,
                        currency=normalize_currency(currency) if currency else None, status=status,
                        created__gte=created_gte, created__lte=created_lte)
    return paginate(qs, limit=limit, cursor=cursor)


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


def exchange_rate_current(*, base: str, quote: str, at: dt.datetime | None = None):
    """(row, rate target-per-source): the newest rate in force, or 1 / the opposite pair's."""
    at = at or clock.now()
    direct = ExchangeRate.objects.filter(base_currency=base, quote_currency=quote, valid_from__lte=at).first()
    inverse = ExchangeRate.objects.filter(base_currency=quote, quote_currency=base, valid_from__lte=at).first()
    # The newer of the two wins, so entering EUR/USD after USD/EUR takes effect at once.
    if direct is not None and (inverse is None or direct.valid_from >= inverse.valid_from):
        return direct, direct.rate
    if inverse is not None:
        return inverse, invert(inverse.rate)
    raise RateNotFound(details={"from_currency": base, "to_currency": quote})


def exchange_rates_to(*, quote: str, currencies, at: dt.datetime | None = None) -> dict[str, Decimal]:
    """Per currency of `currencies`, the rate (`quote` per 1 unit of it) in force at `at`, chosen as
    `exchange_rate_current` chooses (the newer of the direct pair and 1 / the opposite one; the direct pair at
    the same moment; the later row of a pair at the same moment); `quote` itself is 1 and a currency without
    either pair is left out. One query; on PostgreSQL it answers one row per pair (DISTINCT ON), elsewhere every
    row of the pairs in force, the same choice made of them."""
    at = at or clock.now()
    currencies = set(currencies)  # read once: a generator is spent by the first pass
    wanted = currencies - {quote}
    rates: dict[str, Decimal] = {quote: Decimal(1)} if quote in currencies else {}
    if not wanted:
        return rates
    rows = (ExchangeRate.objects.filter(valid_from__lte=at)
            .filter(Q(base_currency__in=wanted, quote_currency=quote)
                    | Q(base_currency=quote, quote_currency__in=wanted))
            .order_by("base_currency", "quote_currency", "-valid_from", "-id"))
    if connection.features.can_distinct_on_fields:
        # Each pair's first row in that order is its newest (exchange_rate_current's `.first()`): the history
        # stays in the database. SQLite has no DISTINCT ON; the max below picks the same rows from all of them.
        rows = rows.distinct("base_currency", "quote_currency")
    newest: dict[str, tuple[tuple[dt.datetime, bool, int], Decimal]] = {}
    for base, other, rate, valid_from, pk in rows.values_list("base_currency", "quote_currency", "rate",
                                                              "valid_from", "id"):
        direct = other == quote
        currency = base if direct else other
        # The newer wins; at the same moment the direct pair, as in exchange_rate_current; then the later row.
        key = (valid_from, direct, pk)
        if currency not in newest or key > newest[currency][0]:
            newest[currency] = (key, rate if direct else invert(rate))
    rates.update({currency: value for currency, (_key, value) in newest.items()})
    return rates


def account_labels(account_ids) -> dict[int, str]:
    """A person-readable name per account: the wallet id for wallets, else type (and owner)."""
    ids = set(account_ids)
    wallets = dict(Wallet.objects.filter(account_id__in=ids).values_list("account_id", "id"))
    labels = {}
    for pk, account_type, owner in LedgerAccount.objects.filter(pk__in=ids).values_list("pk", "account_type",
                                                                                       "owner"):
        labels[pk] = wallets.get(pk) or (account_type if owner == "platform" else f"{account_type}:{owner}")
    return labels


def counterparty_labels(entry_ids, *, exclude_account: int, currency: str) -> dict[str, str]:
    """Per entry, the other side in the same currency (a conversion's other side is FX liquidity)."""
    rows = list(Posting.objects.filter(entry_id__in=set(entry_ids), currency=currency)
                .exclude(account_id=exclude_account).values_list("entry_id", "account_id"))
    labels = account_labels(a for _, a in rows)
    result: dict[str, list[str]] = {}
    for entry_id, account_id in rows:
        result.setdefault(entry_id, []).append(labels[account_id])
    return {entry_id: ", ".join(sorted(set(names))) for entry_id, names in result.items()}


from .history import wallet_transaction_history  # noqa: E402
from .insights import wallet_insights  # noqa: E402

__all__ = [
    "wallet_get", "wallet_currency", "wallet_find", "wallet_list", "wallet_account", "wallet_outgoing_today",
    "utc_day_start", "exchange_rate_current", "exchange_rates_to", "wallet_transaction_history", "wallet_insights",
    "OUTGOING_KINDS",
]
