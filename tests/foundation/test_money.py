from decimal import Decimal

import pytest

from core import money
from core.money import format_amount, normalize_currency, parse_amount


@pytest.mark.parametrize(("value", "currency", "expected"), [
    ("1", "JPY", 1), ("1500", "jpy", 1500), (1500, "JPY", 1500),
    ("10.50", "USD", 1050), ("10.5", "usd", 1050), (10.1, "USD", 1010), ("0.01", "USD", 1), (7, "USD", 700),
    ("1.000", "USD", 100),
    ("1.234", "KWD", 1234), ("1", "KWD", 1000), ("0.001", "KWD", 1), (0.5, "KWD", 500),
])
def test_parse_amount_uses_the_currency_exponent(value, currency, expected):
    assert parse_amount(value, currency) == expected


@pytest.mark.parametrize(("minor", "currency", "expected"), [
    (1500, "JPY", "1500"), (0, "JPY", "0"), (1050, "USD", "10.50"), (1, "USD", "0.01"), (100, "usd", "1.00"),
    (1234, "KWD", "1.234"), (1000, "KWD", "1.000"), (-250, "USD", "-2.50"),
])
def test_format_amount_has_exactly_the_currency_digits(minor, currency, expected):
    assert format_amount(minor, currency) == expected


@pytest.mark.parametrize("currency", ["JPY", "USD", "KWD"])
def test_round_trip(currency):
    for minor in (1, 7, 99, 100, 12345, 10**12):
        assert parse_amount(format_amount(minor, currency), currency) == minor


def test_exponents():
    assert (money.exponent("JPY"), money.exponent("USD"), money.exponent("KWD")) == (0, 2, 3)
    assert money.to_decimal(1234, "KWD") == Decimal("1.234")


@pytest.mark.parametrize(("value", "currency", "max_decimals"), [
    ("1.5", "JPY", 0), ("10.123", "USD", 2), (0.001, "USD", 2), ("1.2345", "KWD", 3),
])
def test_too_many_decimals_is_amount_too_precise(value, currency, max_decimals):
    with pytest.raises(money.AmountTooPrecise) as exc:
        parse_amount(value, currency)
    assert exc.value.code == "amount_too_precise"
    assert exc.value.status == 400
    assert exc.value.details == {"field": "amount", "currency": currency.upper(), "max_decimals": max_decimals}


@pytest.mark.parametrize("value", ["abc", "", "1,50", "1e", None, True, [], {}, "NaN", "Infinity", "10**3", " 2.25 "])
def test_not_a_number_is_invalid_amount(value):
    with pytest.raises(money.InvalidAmount) as exc:
        parse_amount(value, "USD", field="price")
    assert exc.value.code == "invalid_amount"
    assert exc.value.details == {"field": "price"}


def test_too_large_is_invalid_amount():
    with pytest.raises(money.InvalidAmount):
        parse_amount("10000000000000.01", "USD")


@pytest.mark.parametrize("value", ["0", 0, "0.00", "-1", -0.01, "-5"])
def test_zero_and_negative_are_refused_by_default(value):
    with pytest.raises(money.AmountNotPositive) as exc:
        parse_amount(value, "USD")
    assert exc.value.code == "amount_not_positive"


def test_zero_and_negative_when_allowed():
    assert parse_amount("0", "USD", allow_zero=True) == 0
    assert parse_amount("-1.25", "USD", allow_negative=True) == -125
    with pytest.raises(money.AmountNotPositive):
        parse_amount("0", "USD", allow_negative=True)
    with pytest.raises(money.AmountNotPositive):
        parse_amount("-1", "USD", allow_zero=True)


@pytest.mark.parametrize("currency", ["XXX", "US", "", None, 840, "usdd", "BTC"])
def test_unknown_currency_is_unsupported_currency(currency):
    with pytest.raises(money.UnsupportedCurrency) as exc:
        parse_amount("1", currency)
    assert exc.value.code == "unsupported_currency"
    assert exc.value.status == 400


def test_unknown_currency_is_checked_before_the_amount():
    with pytest.raises(money.UnsupportedCurrency):
        parse_amount("not a number", "XXX")


def test_normalize_currency_any_case():
    assert normalize_currency(" kwd ") == "KWD"
    assert money.Money(1050, "USD").as_wire() == {"amount": "10.50", "currency": "USD"}
    assert str(money.Money(5, "JPY")) == "5 JPY"
