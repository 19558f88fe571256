"""The period a dashboard shows: `?from=YYYY-MM-DD&to=YYYY-MM-DD&currency=XXX`, UTC days, `to` inclusive."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q

from core import clock
from core.errors import DomainError
from core.money import CURRENCY_CHOICES

DEFAULT_DAYS = 30
MAX_DAYS = 3 * 366
CURRENCIES = frozenset(code for code, _label in CURRENCY_CHOICES)


class InvalidPeriod(DomainError):
    code = "invalid_period"
    status = 400


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date  # inclusive
    currency: str | None = None

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def since(self) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time.min, tzinfo=dt.UTC)

    @property
    def until(self) -> dt.datetime:
        """The instant after the period (exclusive bound)."""
        return dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)

    def previous(self) -> Period:
        """The period of the same length just before this one (what tiles compare against)."""
        return Period(self.start - dt.timedelta(days=self.days), self.start - dt.timedelta(days=1), self.currency)

    def with_previous(self) -> Period:
        """This period and the previous one as one range (one query reads both; a filter splits them)."""
        return Period(self.previous().start, self.end, self.currency)

    def within(self, field: str = "created", currency_field: str | None = "currency") -> Q:
        """Rows whose `field` falls in the period and, when the period has a currency, whose `currency_field`
        holds it (None: the rows have no currency to filter on)."""
        condition = Q(**{f"{field}__gte": self.since, f"{field}__lt": self.until})
        if self.currency and currency_field:
            condition &= Q(**{currency_field: self.currency})
        return condition

    def admin_filters(self, field: str = "created") -> dict[str, str]:
        """The period as an admin changelist's query-string filters (full UTC instants: a bare date would be
        read as a naive datetime)."""
        filters = {f"{field}__gte": self.since.isoformat(), f"{field}__lt": self.until.isoformat()}
        if self.currency:
            filters["currency__exact"] = self.currency
        return filters

    def query(self, **extra: str) -> str:
        """The query string that selects this period (links between pages keep it)."""
        from urllib.parse import urlencode

        params = {"from": self.start.isoformat(), "to": self.end.isoformat()}
        if self.currency:
            params["currency"] = self.currency
        params.update(extra)
        return urlencode(params)


def today() -> dt.date:
    return clock.now().astimezone(dt.UTC).date()


def last_days(days: int, *, currency: str | None = None, end: dt.date | None = None) -> Period:
    end = end or today()
    return Period(end - dt.timedelta(days=days - 1), end, currency)


def _date(value: str, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidPeriod(f"{field} must be a date written YYYY-MM-DD.", details={"field": field}) from None


def parse_period(params, *, default_days: int = DEFAULT_DAYS) -> Period:
    """The period from a query dict; absent bounds default to the last `default_days` days up to today."""
    raw_from = (params.get("from") or "").strip()
    raw_to = (params.get("to") or "").strip()
    raw_currency = (params.get("currency") or "").strip().upper()
    for field, value in (("from", raw_from), ("to", raw_to)):
        if len(value) > 10:
            raise InvalidPeriod(f"{field} must be a date written YYYY-MM-DD.", details={"field": field})
    end = _date(raw_to, "to") if raw_to else today()
    start = _date(raw_from, "from") if raw_from else end - dt.timedelta(days=default_days - 1)
    if start > end:
        raise InvalidPeriod("from must be on or before to.", details={"field": "from"})
    if (end - start).days + 1 > MAX_DAYS:
        raise InvalidPeriod(f"A period is at most {MAX_DAYS} days.", details={"field": "from"})
    currency = None
    if raw_currency:
        if raw_currency not in CURRENCIES:
            raise InvalidPeriod("currency must be one of " + ", ".join(sorted(CURRENCIES)) + ".",
                                details={"field": "currency"})
        currency = raw_currency
    return Period(start, end, currency)
