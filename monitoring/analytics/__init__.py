"""The numbers behind the dashboards and the analytics operations, one module per part (`revenue`, `customers`, `fraud`,
`wallets`, `subscriptions`, `monitoring`, `reports`, ...).

Selectors only read: the admin pages (`monitoring/dashboards/page_*.py`), the REST endpoints and the MCP tools
arrange the same results, so every door shows the same figures.
"""

from decimal import ROUND_HALF_UP, Decimal

RATE_PLACES = Decimal("0.0001")


def rate(part: int, whole: int) -> Decimal | None:
    """`part / whole` with 4 places, half up (every rate the dashboards and analytics show); None when there is
    nothing to divide by."""
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(RATE_PLACES, rounding=ROUND_HALF_UP)

