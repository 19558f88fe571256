"""Exchange rates: staff-entered, kept as history. The arithmetic is in `wallets.fx`."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from core import clock
from core.audit import audit_record
from core.context import Actor
from core.db import use_case
from core.errors import ValidationFailed
from core.money import normalize_currency, parse_decimal

from ..audit import WalletsAction
from ..models import ExchangeRate


@use_case
def exchange_rate_set(*, actor: Actor, base_currency: str, quote_currency: str, rate: Decimal | str,
                      source: str, valid_from: dt.datetime | None = None) -> ExchangeRate:
    """Adds a rate (rows are history: a change is a newer row, the old one stays for the record)."""
    base, quote = normalize_currency(base_currency), normalize_currency(quote_currency)
    if base == quote:
        raise ValidationFailed({"quote_currency": ["Must differ from the base currency."]})
    rate = parse_decimal(rate, field="rate", max_integer_digits=14, max_places=10)
    if rate <= 0:
        raise ValidationFailed({"rate": ["Must be positive, below 10^14, with at most 10 decimal places."]})
    source = (source or "").strip()
    if not source:
        raise ValidationFailed({"source": ["Say where the rate comes from."]})
    now = clock.now()
    row = ExchangeRate(base_currency=base, quote_currency=quote, rate=rate, source=source[:100],
                       valid_from=valid_from or now, created=now)
    row.save(force_insert=True)
    audit_record(action=WalletsAction.EXCHANGE_RATE_SET, actor=actor, obj=row,
                 details={"pair": f"{base}/{quote}", "rate": str(rate), "source": source})
    return row
