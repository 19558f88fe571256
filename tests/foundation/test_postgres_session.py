"""Settings of every PostgreSQL session the application opens."""

from __future__ import annotations

import pytest
from django.db import connection

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def test_jit_compilation_is_off():
    # Dashboard aggregates are costed above jit_above_cost and compiled for longer than they then ran.
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone() == ("off",)


def test_work_mem_lets_a_month_of_customers_hash_in_memory():
    with connection.cursor() as cursor:
        cursor.execute("SHOW work_mem")
        assert cursor.fetchone() == ("32MB",)
