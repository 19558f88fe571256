"""`lock_system_accounts(entry_keys=...)`: the platform's accounts locked and the drafts' idempotency
keys looked up in one statement on PostgreSQL (issue 12), with the answers of the two separate queries."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from core.db import run_in_transaction
from wallets import ledger
from wallets.ledger import AccountType, EntryDraft
from wallets.selectors.verify import ledger_verify

pytestmark = pytest.mark.django_db

CLEARING = ("provider:sandbox", AccountType.PROVIDER_CLEARING, "USD")
REVENUE = ("platform", AccountType.MERCHANT_REVENUE, "USD")


def _capture(actor, key, amount):
    books = ledger.lock_system_accounts([CLEARING, REVENUE], entry_keys={key})
    draft = EntryDraft(kind="payment_capture", description=key, idempotency_key=key,
                       postings=[(books.accounts[CLEARING], -amount), (books.accounts[REVENUE], amount)])
    [entry] = ledger.post_entries(drafts=[draft], actor=actor, locked=books.by_id(), existing=books.entries)
    return entry


def test_a_replayed_key_returns_its_entry_and_posts_nothing(actor):
    first = run_in_transaction(lambda: _capture(actor, "pay_1:capture", 500))
    with CaptureQueriesContext(connection) as queries:
        again = run_in_transaction(lambda: _capture(actor, "pay_1:capture", 500))
    assert again.pk == first.pk
    # Nothing written. PostgreSQL: the lock with the lookup, then the replayed entry read by id;
    # elsewhere: the lookup (which reads the entry), then the lock.
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["SELECT", "SELECT"]
    second = run_in_transaction(lambda: _capture(actor, "pay_2:capture", 700))
    balances = run_in_transaction(lambda: {key: a.balance for key, a in
                                           ledger.lock_system_accounts([CLEARING, REVENUE]).accounts.items()})
    assert second.pk != first.pk and balances == {CLEARING: -1_200, REVENUE: 1_200}
    assert ledger_verify().problems == []


def test_a_new_key_is_one_statement_before_the_write_on_postgresql(actor):
    run_in_transaction(lambda: _capture(actor, "pay_1:capture", 500))  # ids known to this process
    with CaptureQueriesContext(connection) as queries:
        run_in_transaction(lambda: _capture(actor, "pay_2:capture", 500))
    expected = 2 if connection.vendor == "postgresql" else 5  # SQLite: lookup, lock, and the ORM write
    assert len(queries) == expected, [q["sql"][:80] for q in queries.captured_queries]


@pytest.mark.postgres
def test_the_folded_lookup_reads_the_idempotency_index():
    # 200 keys: past the 100-value list from which PostgreSQL proves a partial index's condition.
    keys = {f"pay_{n}:capture" for n in range(200)}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = ledger.lock_query_finding([3, 1, 2], keys)
        assert sql.endswith("ORDER BY a.id ASC FOR UPDATE") and params == [sorted(keys), 1, 2, 3]
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "journalentry_idem_uniq" in plan, plan
    assert "Seq Scan" not in plan, plan


def test_the_locked_accounts_are_the_orms_rows(actor):
    run_in_transaction(lambda: _capture(actor, "pay_1:capture", 500))

    def lock():
        books = ledger.lock_system_accounts([CLEARING, REVENUE], entry_keys={"pay_1:capture", "pay_9:capture"})
        return books.accounts, books.entries

    accounts, entries = run_in_transaction(lock)
    fields = [f.attname for f in ledger.LedgerAccount._meta.concrete_fields]
    for key, account in accounts.items():
        expected = ledger.LedgerAccount.objects.get(pk=account.pk)
        assert (account.owner, account.account_type, account.currency) == key
        assert {f: getattr(account, f) for f in fields} == {f: getattr(expected, f) for f in fields}
        assert not account._state.adding
    assert accounts[CLEARING].balance == -500 and list(entries) == ["pay_1:capture"]
