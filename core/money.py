"""Money: integer minor units plus an ISO 4217 currency, everywhere inside.

`parse_amount` is the only way an amount enters the system from outside; `format_amount` the
only way one leaves. Rounding is never silent: too many decimals is an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from .errors import DomainError

# ISO 4217 minor-unit exponents for the currencies we accept.
CURRENCY_EXPONENTS: dict[str, int] = {
    "AED": 2, "ARS": 2, "AUD": 2, "BGN": 2, "BHD": 3, "BRL": 2, "CAD": 2, "CHF": 2, "CLP": 0,
    "CNY": 2, "COP": 2, "CZK": 2, "DKK": 2, "EGP": 2, "EUR": 2, "GBP": 2, "HKD": 2, "HUF": 2,
    "IDR": 2, "ILS": 2, "INR": 2, "ISK": 0, "JOD": 3, "JPY": 0, "KES": 2, "KRW": 0, "KWD": 3,
    "MAD": 2, "MXN": 2, "MYR": 2, "NGN": 2, "NOK": 2, "NZD": 2, "OMR": 3, "PEN": 2, "PHP": 2,
    "PKR": 2, "PLN": 2, "QAR": 2, "RON": 2, "RSD": 2, "SAR": 2, "SEK": 2, "SGD": 2, "THB": 2,
    "TND": 3, "TRY": 2, "TWD": 2, "UAH": 2, "UGX": 0, "USD": 2, "VND": 0, "XAF": 0, "XOF": 0,
    "ZAR": 2,
}
CURRENCY_CHOICES = sorted((c, c) for c in CURRENCY_EXPONENTS)
# Far above any real single payment; keeps values inside a signed 64-bit column with room.
MAX_MINOR_UNITS = 10**15


class InvalidAmount(DomainError):
    code = "invalid_amount"
    status = 400
    default_message = "The amount is not a valid number."


class AmountTooPrecise(DomainError):
    code = "amount_too_precise"
    status = 400


class AmountNotPositive(DomainError):
    code = "amount_not_positive"
    status = 400
    default_message = "The amount must be greater than zero."


class UnsupportedCurrency(DomainError):
    code = "unsupported_currency"
    status = 400


def normalize_currency(currency: object) -> str:
    if not isinstance(currency, str) or currency.strip().upper() not in CURRENCY_EXPONENTS:
        raise UnsupportedCurrency(f"Unsupported currency: {currency!r}.", details={"currency": currency})
    return currency.strip().upper()


def exponent(currency: str) -> int:
    return CURRENCY_EXPONENTS[normalize_currency(currency)]


def parse_amount(value: object, currency: str, *, allow_zero: bool = False, allow_negative: bool = False,
                 field: str = "amount") -> int:
    """Major units (decimal string or JSON number) to integer minor units."""
    cur = normalize_currency(currency)
    if isinstance(value, bool) or value is None:
        raise InvalidAmount(details={"field": field})
    if isinstance(value, float):
        # repr() gives the shortest string that round-trips, so 10.1 stays 10.1.
        value = repr(value)
    try:
        dec = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise InvalidAmount(details={"field": field}) from None
    if not dec.is_finite():
        raise InvalidAmount(details={"field": field})
    exp = CURRENCY_EXPONENTS[cur]
    minor = dec.scaleb(exp)
    if minor != minor.to_integral_value():
        raise AmountTooPrecise(
            f"{cur} amounts have at most {exp} decimal places.",
            details={"field": field, "currency": cur, "max_decimals": exp},
        )
    units = int(minor)
    if units < 0 and not allow_negative:
        raise AmountNotPositive(details={"field": field})
    if units == 0 and not allow_zero:
        raise AmountNotPositive(details={"field": field})
    if abs(units) > MAX_MINOR_UNITS:
        raise InvalidAmount("The amount is too large.", details={"field": field})
    return units


def format_amount(minor_units: int, currency: str) -> str:
    """Integer minor units to a decimal string with exactly the currency's digits."""
    exp = exponent(currency)
    return f"{Decimal(int(minor_units)).scaleb(-exp):.{exp}f}"


def to_decimal(minor_units: int, currency: str) -> Decimal:
    return Decimal(int(minor_units)).scaleb(-exponent(currency))


def round_half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True, slots=True)
class Money:
    amount: int
    currency: str

    def __str__(self) -> str:
        return f"{format_amount(self.amount, self.currency)} {self.currency}"

    def as_wire(self) -> dict[str, str]:
        return {"amount": format_amount(self.amount, self.currency), "currency": self.currency}
