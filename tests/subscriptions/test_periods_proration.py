import pytest

from subscriptions.periods import add_months, advance, period_bounds
from subscriptions.proration import prorate, round_half_up_ratio

from .conftest import at


def test_month_end_anchor_renews_on_last_day_then_returns_to_31():
    anchor = at(2026, 1, 31, 10, 30)
    ends = [advance(anchor, "month", 1, n) for n in range(1, 5)]
    assert ends == [at(2026, 2, 28, 10, 30), at(2026, 3, 31, 10, 30), at(2026, 4, 30, 10, 30),
                    at(2026, 5, 31, 10, 30)]


def test_leap_years_and_yearly_plans():
    assert add_months(at(2028, 1, 31), 1) == at(2028, 2, 29)
    assert advance(at(2028, 2, 29), "year", 1, 1) == at(2029, 2, 28)
    assert advance(at(2028, 2, 29), "year", 1, 4) == at(2032, 2, 29)
    assert add_months(at(2026, 11, 30), 3) == at(2027, 2, 28)


def test_days_weeks_and_counts():
    assert period_bounds(at(2026, 3, 1), "week", 2, 1) == (at(2026, 3, 15), at(2026, 3, 29))
    assert period_bounds(at(2026, 3, 1), "day", 1, 0) == (at(2026, 3, 1), at(2026, 3, 2))
    assert period_bounds(at(2026, 1, 31), "month", 3, 1) == (at(2026, 4, 30), at(2026, 7, 31))


def test_rounding_is_half_up_not_bankers():
    assert prorate(5, 1, 2) == 3  # 2.5 -> 3 (banker's rounding would give 2)
    assert prorate(-5, 1, 2) == -3
    assert prorate(7, 1, 2) == 4
    assert round_half_up_ratio(1001, 1000) == 1
    assert round_half_up_ratio(1499, 1000) == 1
    assert round_half_up_ratio(1500, 1000) == 2


@pytest.mark.parametrize("bad", ["fortnight", ""])
def test_unknown_interval_refused(bad):
    with pytest.raises(ValueError):
        advance(at(2026, 1, 1), bad, 1, 1)
