"""The wallets' lock reads its rows with a hand-written statement (core.rawrows): what it returns must
be what the ORM would have read, field for field, on SQLite and PostgreSQL alike."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from core.errors import NotFound
from tests.factories import CustomerFactory
from wallets.models import Wallet
from wallets.services import wallet_lock
from wallets.services.lifecycle import wallet_lock_with_accounts

pytestmark = pytest.mark.django_db(transaction=True)


def _fields(obj):
    return {field.attname: getattr(obj, field.attname) for field in obj._meta.concrete_fields}


@pytest.mark.parametrize("lock", [wallet_lock, wallet_lock_with_accounts])
def test_locked_rows_are_the_orms_rows(lock, make_wallet):
    customer = CustomerFactory(metadata={"tier": "gold", "n": [1, 2.5, None]}, name="Zoë Ünïcode")
    first = make_wallet(balance=12345, customer=customer, daily_limit=50000)
    second = make_wallet(currency="EUR", balance=7)
    with transaction.atomic():
        with CaptureQueriesContext(connection) as queries:
            locked = lock(second.pk, first.pk, first.pk)
        assert len(queries) == 1
        # The lock order every wallet service agrees on: the wallets by id, then (locked too) their accounts by id.
        sql = queries[0]["sql"]
        if connection.vendor != "postgresql":
            assert sql.endswith("ORDER BY w.id ASC")  # SQLite locks the whole file
        elif lock is wallet_lock:
            assert sql.endswith("ORDER BY w.id ASC FOR UPDATE OF w")
        else:
            assert sql.startswith("WITH locked_w AS (")
            assert sql.index("ORDER BY w.id ASC FOR UPDATE") < sql.index("ORDER BY a.id ASC FOR UPDATE")
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (COSTS OFF) " + sql)
                plan = "\n".join(row[0] for row in cursor.fetchall())
            # The accounts are locked under a one-time filter on the count of locked wallets: after all of them.
            accounts = plan[plan.index("CTE locked_a"):]
            assert accounts.index("CTE Scan on locked_w") < accounts.index("One-Time Filter")
        assert sorted(locked) == sorted([first.pk, second.pk])
        with CaptureQueriesContext(connection) as queries:
            for wallet_id, wallet in locked.items():
                expected = Wallet.objects.select_related("account", "customer").get(pk=wallet_id)
                assert _fields(wallet) == _fields(expected)
                assert _fields(wallet.account) == _fields(expected.account)
                assert _fields(wallet.customer) == _fields(expected.customer)
                assert not wallet._state.adding and wallet._state.db == "default"
                assert wallet.account.wallet is wallet  # the one-to-one's other side, as select_related leaves it
        assert len(queries) == 2  # the expected rows only: the locked ones carried their account and customer
    assert locked[first.pk].customer.metadata == {"tier": "gold", "n": [1, 2.5, None]}
    assert locked[first.pk].account.balance == 12345 and locked[first.pk].daily_limit == 50000
    assert locked[first.pk].created.tzinfo is not None


def test_no_ids_lock_nothing_and_ask_nothing():
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        assert wallet_lock() == {} and wallet_lock_with_accounts() == {}
    assert [q["sql"] for q in queries.captured_queries if not q["sql"].startswith(("BEGIN", "SAVEPOINT"))] == []


def test_an_unknown_or_foreign_id_is_not_found_and_locks_nothing(make_wallet):
    wallet = make_wallet(balance=1)
    with transaction.atomic():
        with pytest.raises(NotFound) as missing:
            wallet_lock_with_accounts(wallet.pk, "wal_" + "x" * 24)
        assert missing.value.details == {"wallet_id": "wal_" + "x" * 24}
        with pytest.raises(NotFound):
            wallet_lock(wallet.customer_id)  # a customer's id is no wallet's, whatever its length
