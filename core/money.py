"""Money: integer minor units plus an ISO 4217 currency, everywhere inside.

`parse_amount` is the only way an amount enters the system from outside; `format_amount` the
only way one leaves. Rounding is never silent: too many decimals is an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from .errors import DomainError, ValidationFailed
from .jsonparse import JsonNumber

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


class CurrencyMismatch(DomainError):
    """Two currencies that must agree do not (a wallet and a payment, a plan and a subscription)."""

    code = "currency_mismatch"
    status = 422
    default_message = "The currencies do not match."


class UnsupportedCurrency(DomainError):
    code = "unsupported_currency"
    status = 400


def normalize_currency(currency: object) -> str:
    if not isinstance(currency, str) or currency.strip().upper() not in CURRENCY_EXPONENTS:
        raise UnsupportedCurrency(f"Unsupported currency: {currency!r}.", details={"currency": currency})
    return currency.strip().upper()


def exponent(currency: str) -> int:
    return CURRENCY_EXPONENTS[normalize_currency(currency)]


# Plain ASCII decimals only: no exponent, sign "+", separators, spaces or other scripts' digits.
_PLAIN_DECIMAL = re.compile(r"(-?)([0-9]+)(?:\.([0-9]+))?", re.ASCII)
MAX_MINOR_DIGITS = len(str(MAX_MINOR_UNITS))


def _amount_text(value: object) -> str | None:
    """The decimal text of an amount as sent, or None when it cannot be one."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, JsonNumber):
        return value.text  # the JSON number as written, not its float
    if isinstance(value, int):
        try:
            return str(value)
        except ValueError:  # more digits than Python converts: certainly not an amount
            return None
    if isinstance(value, float | Decimal):
        dec = Decimal(repr(value)) if isinstance(value, float) else value
        if not dec.is_finite() or not -40 < dec.adjusted() < 40:
            return None
        # Floats come from our own code (stored arguments, forms), never with an exponent on the wire.
        return format(dec, "f")
    return None


def parse_amount(value: object, currency: str, *, allow_zero: bool = False, allow_negative: bool = False,
                 field: str = "amount") -> int:
    """Major units (decimal string or JSON number) to integer minor units.

    Only string checks until the digit count is known to fit: a client's "9e999999" must not
    make a million-digit number first.
    """
    cur = normalize_currency(currency)
    text = _amount_text(value)
    match = _PLAIN_DECIMAL.fullmatch(text) if text is not None else None
    if match is None:
        raise InvalidAmount(details={"field": field})
    sign, whole, fraction = match.group(1), match.group(2).lstrip("0"), (match.group(3) or "").rstrip("0")
    exp = CURRENCY_EXPONENTS[cur]
    if len(fraction) > exp:
        raise AmountTooPrecise(
            f"{cur} amounts have at most {exp} decimal places.",
            details={"field": field, "currency": cur, "max_decimals": exp},
        )
    zero = not whole and not fraction
    if (sign and not zero and not allow_negative) or (zero and not allow_zero):
        raise AmountNotPositive(details={"field": field})
    if len(whole) + exp > MAX_MINOR_DIGITS:
        raise InvalidAmount("The amount is too large.", details={"field": field})
    units = int((whole + fraction.ljust(exp, "0")) or "0")
    if units > MAX_MINOR_UNITS:
        raise InvalidAmount("The amount is too large.", details={"field": field})
    return -units if sign else units


def require_positive(amount: object, *, field: str = "amount") -> int:
    """The check every service makes of an amount it is given in minor units: an int (never a bool:
    True must not move one cent), above zero, within MAX_MINOR_UNITS. Doors parse client text with
    `parse_amount`; this guards services against their other callers."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidAmount("Amounts inside services are integers in minor units.", details={"field": field})
    if amount <= 0:
        raise AmountNotPositive(details={"field": field})
    if amount > MAX_MINOR_UNITS:
        raise InvalidAmount("The amount is too large.", details={"field": field})
    return amount


def parse_decimal(value: object, *, field: str, max_integer_digits: int, max_places: int) -> Decimal:
    """A number that is not an amount (an exchange rate, a percentage) from a client or a form:
    the same plain ASCII decimals as amounts, its digits bounded before it becomes a Decimal."""
    text = _amount_text(value)
    match = _PLAIN_DECIMAL.fullmatch(text) if text is not None else None
    if match is None:
        raise ValidationFailed({field: ["Must be a decimal number: digits with an optional point."]})
    sign, whole, fraction = match.group(1), match.group(2).lstrip("0"), (match.group(3) or "").rstrip("0")
    if len(whole) > max_integer_digits or len(fraction) > max_places:
        raise ValidationFailed({field: [f"At most {max_integer_digits} digits before the point "
                                        f"and {max_places} after it."]})
    return Decimal(f"{sign}{whole or 0}.{fraction or 0}")


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
