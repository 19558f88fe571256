"""The conversion arithmetic (pure functions, no database).

Rounding rule (a contract, tested in tests/wallets/test_fx.py): the target amount is
`floor(amount × rate × 10^(target exponent − source exponent))` in the target's minor units,
computed in exact decimal arithmetic. Rounding down means the platform never pays out a
fraction of a minor unit it did not receive; the fraction stays with the FX liquidity account.
When only the opposite pair is stored, the rate used is 1 / that rate (40 significant digits)
and the same floor applies. A conversion that would give zero is refused (`amount_too_small`).
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Context, Decimal

from core.money import exponent

_CONTEXT = Context(prec=40)


def convert_minor(amount: int, *, rate: Decimal, source: str, target: str) -> int:
    """Source minor units to target minor units at `rate` (target per source), rounded down."""
    scaled = _CONTEXT.multiply(_CONTEXT.multiply(Decimal(amount), rate),
                               Decimal(10) ** (exponent(target) - exponent(source)))
    return int(scaled.to_integral_value(rounding=ROUND_FLOOR))


def invert(rate: Decimal) -> Decimal:
    return _CONTEXT.divide(Decimal(1), rate)
