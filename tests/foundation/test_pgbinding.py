"""Server-side binding on PostgreSQL (the default): integer parameters typed as literals would be
(core.pgbinding), repeated statements prepared, and the switch to turn it off."""

import os
import subprocess
import sys

import pytest
from django.db import DataError, connection, transaction
from psycopg.types.numeric import Int2, Int4, Int8

from tests.foundation.test_readme import ROOT


def _row(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgres_binds_on_the_server_by_default():
    assert connection.settings_dict["OPTIONS"]["server_side_binding"] is True
    assert connection.settings_dict["OPTIONS"]["prepare_threshold"] == 5
    assert connection.features.uses_server_side_binding


@pytest.mark.postgres
@pytest.mark.django_db
def test_integers_are_typed_as_the_same_literal_would_be():
    assert _row("SELECT pg_typeof(%s)::text, pg_typeof(%s)::text, pg_typeof(%s)::text, pg_typeof(%s)::text, "
                "pg_typeof(%s)::text, pg_typeof(%s)::text",
                [7, -(2**31), 2**31, 2**70, Int2(3), Int8(5)]) == (
        "integer", "integer", "bigint", "numeric", "integer", "bigint")


@pytest.mark.postgres
@pytest.mark.django_db
def test_two_small_parameters_add_up_beyond_smallint():
    # psycopg alone types 20000 as smallint: "smallint out of range".
    assert _row("SELECT %s + %s", [20000, 20000]) == (40000,)


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_32_bit_wrapper_beyond_32_bits_is_not_wrapped():
    # Django wraps an untyped Value(int) as Int4; psycopg alone sent it as 32 bits: -2147483645 here.
    assert _row("SELECT 1::bigint + %s", [Int4(6442450946)]) == (6442450947,)


@pytest.mark.postgres
@pytest.mark.django_db
def test_too_large_for_an_integer_column_is_refused_not_wrapped():
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE binding_probe (n integer)")
        with pytest.raises(DataError, match="integer out of range"), transaction.atomic():
            cursor.execute("INSERT INTO binding_probe (n) VALUES (%s)", [Int4(2**33)])
        cursor.execute("SELECT count(*) FROM binding_probe")
        assert cursor.fetchone() == (0,)


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_repeated_statement_is_prepared():
    sql = "SELECT %s::text || 'binding-probe'"
    for i in range(6):
        assert _row(sql, [str(i)]) == (f"{i}binding-probe",)
    assert _row("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
                ["%binding-probe%"]) == (1,)


@pytest.mark.parametrize(("value", "expected"), [(None, "True 5"), ("false", "None None"), ("true", "True 5")])
def test_the_switch(value, expected):
    env = {**os.environ, "DATABASE_URL": "postgres://u@db.invalid:5432/x"}
    env.pop("DB_SERVER_SIDE_BINDING", None)
    if value is not None:
        env["DB_SERVER_SIDE_BINDING"] = value
    out = subprocess.run([sys.executable, "-c", "from config.settings import base; "
                          "options = base.DATABASES['default']['OPTIONS']; "
                          "print(options.get('server_side_binding'), options.get('prepare_threshold'))"],
                         cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == expected


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_statement_of_a_hundred_parameters_is_parsed_once():
    from psycopg import _queries

    sql = "SELECT " + ", ".join(["%s::int + 0"] * 100)
    _row(sql, list(range(100)))
    before = _queries._query2pg.cache_info()
    for _ in range(3):
        assert _row(sql, list(range(100))) == tuple(range(100))
    after = _queries._query2pg.cache_info()
    assert (after.hits - before.hits, after.misses - before.misses) == (3, 0)
