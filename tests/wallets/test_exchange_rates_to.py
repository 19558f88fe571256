"""exchange_rates_to: per currency, the rate in force chosen from every stored rate of its two pairs as
exchange_rate_current chooses (the newest; at the same moment the direct pair, then the later row); on PostgreSQL
the database answers one row per pair instead of the pairs' whole history."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core import clock
from wallets import services
from wallets.fx import invert
from wallets.selectors import exchange_rate_current, exchange_rates_to

pytestmark = pytest.mark.django_db
CURRENCIES = ["CHF", "EUR", "GBP", "JPY", "KWD", "NOK", "USD"]


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def _rate(actor, pair: str, rate: str, valid_from: dt.datetime) -> None:
    base, quote = pair.split("/")
    services.exchange_rate_set(actor=actor, base_currency=base, quote_currency=quote, rate=rate, source="test",
                               valid_from=valid_from)


@pytest.fixture
def history(actor):
    """Several rates per pair, entered out of their order: KWD/EUR's newest row is not its latest rate, JPY is
    quoted the other way round, CHF both ways (the inverse newer), GBP both ways at the same moment (the inverse
    entered last), USD twice at the same moment, NOK only from 2099."""
    with clock.frozen_at(at(2026, 3, 20)):
        _rate(actor, "KWD/EUR", "3.0", at(2026, 1, 1))
        _rate(actor, "KWD/EUR", "2.8", at(2026, 3, 1))
        _rate(actor, "KWD/EUR", "2.9", at(2026, 2, 1))
        _rate(actor, "KWD/EUR", "9", at(2026, 1, 15))  # the newest row, at an older moment
        _rate(actor, "KWD/EUR", "5", at(2099, 1, 1))  # not in force yet
        _rate(actor, "EUR/JPY", "150", at(2026, 1, 1))
        _rate(actor, "EUR/JPY", "155", at(2026, 2, 1))
        _rate(actor, "CHF/EUR", "1.05", at(2026, 1, 1))
        _rate(actor, "EUR/CHF", "0.9", at(2026, 2, 1))
        _rate(actor, "GBP/EUR", "1.2", at(2026, 2, 1))
        _rate(actor, "EUR/GBP", "0.8", at(2026, 2, 1))  # the same moment: the direct pair still wins
        _rate(actor, "GBP/EUR", "1.1", at(2026, 1, 1))
        _rate(actor, "USD/EUR", "0.91", at(2026, 2, 1))
        _rate(actor, "USD/EUR", "0.92", at(2026, 2, 1))  # the same moment: the later row wins
        _rate(actor, "EUR/NOK", "11", at(2099, 1, 1))


def test_the_latest_rate_of_each_pair_wins_over_its_history(history):
    with clock.frozen_at(at(2026, 4, 1)):
        rates = exchange_rates_to(quote="EUR", currencies=iter(CURRENCIES))
        assert rates == {"EUR": Decimal(1), "KWD": Decimal("2.8"), "JPY": invert(Decimal("155")),
                         "CHF": invert(Decimal("0.9")), "GBP": Decimal("1.2"), "USD": Decimal("0.92")}
        assert all(exchange_rate_current(base=c, quote="EUR")[1] == rate for c, rate in rates.items() if c != "EUR")
    # As of an earlier moment, the rates then in force: KWD's row entered last (15 January) is the latest then.
    assert exchange_rates_to(quote="EUR", currencies=CURRENCIES, at=at(2026, 1, 20)) == {
        "EUR": Decimal(1), "KWD": Decimal("9"), "JPY": invert(Decimal("150")), "CHF": Decimal("1.05"),
        "GBP": Decimal("1.1")}
    assert exchange_rates_to(quote="EUR", currencies=["NOK"], at=at(2026, 4, 1)) == {}
    # The other way round: JPY's rates are stored as EUR/JPY, so EUR in JPY is the direct pair.
    assert exchange_rates_to(quote="JPY", currencies=["EUR", "JPY"], at=at(2026, 4, 1)) == {
        "JPY": Decimal(1), "EUR": Decimal("155")}


@pytest.mark.postgres
def test_postgresql_answers_one_row_per_pair(history):
    with CaptureQueriesContext(connection) as queries:
        exchange_rates_to(quote="EUR", currencies=CURRENCIES, at=at(2026, 4, 1))
    [query] = queries.captured_queries
    assert "DISTINCT ON" in query["sql"], query["sql"]
    with connection.cursor() as cursor:
        cursor.execute(query["sql"])
        pairs = sorted(f"{base}/{quote}" for base, quote, *_ in cursor.fetchall())
    # 13 rates of 7 pairs are in force; NOK's pair is not yet.
    assert pairs == ["CHF/EUR", "EUR/CHF", "EUR/GBP", "EUR/JPY", "GBP/EUR", "KWD/EUR", "USD/EUR"]
