import datetime as dt

import pytest

from payments.risk.dataset import rows_to_frame
from payments.risk.simulate import simulate


@pytest.fixture(scope="session")
def small_rows():
    """About 6,000 rows: 80 customers over 90 days, every scenario present."""
    return simulate(customers=80, days=90, seed=11, start=dt.date(2025, 1, 1))


@pytest.fixture(scope="session")
def small_frame(small_rows):
    return rows_to_frame(small_rows)
