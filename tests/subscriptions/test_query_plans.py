"""The billing run's per-chunk queries use their indexes on PostgreSQL, so a chunk costs the same
at the 1st and the 500th chunk (no sort or scan of every due row per chunk).

Sequential scans and sorts are switched off for the EXPLAIN: the planner then still shows a
Seq Scan or Sort (at a prohibitive cost) when no index can answer the query, and only then."""

import datetime as dt

import pytest
from django.db import connection, transaction

from subscriptions.services.billing import _due_for_collection, _due_for_renewal
from wallets.ledger import entries_with_keys

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
NOW = dt.datetime(2030, 2, 1, tzinfo=dt.UTC)


def _plan(queryset) -> str:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("SET LOCAL enable_incremental_sort = off")
        return queryset.explain()


@pytest.mark.parametrize(("name", "queryset", "index"), [
    ("renewal", lambda: _due_for_renewal(NOW)[:200], "sub_renewal_due_idx"),
    ("collection", lambda: _due_for_collection(NOW)[:200], "inv_collect_idx"),
    # 200 keys: past the 100-value IN list from which PostgreSQL proves a partial index's condition.
    ("ledger keys", lambda: entries_with_keys([f"pay_{n}:capture" for n in range(200)]), "journalentry_idem_uniq"),
])
def test_chunk_query_reads_its_index_without_sorting(name, queryset, index):
    plan = _plan(queryset())
    assert index in plan, plan
    assert "Seq Scan" not in plan, plan
    assert "Sort" not in plan, plan
