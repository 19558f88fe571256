"""`post_entries`: many entries with one idempotency query and one write, the same rows as one call each."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from wallets import ledger, ledger_write
from wallets.errors import InsufficientFunds, UnbalancedEntry
from wallets.ledger import EntryDraft
from wallets.models import JournalEntry, LedgerAccount, Posting

from .test_ledger_core import snapshot

pytestmark = pytest.mark.django_db


def _locked(*accounts):
    ids = sorted(a.pk for a in accounts)
    return {a.pk: a for a in LedgerAccount.objects.select_for_update().filter(pk__in=ids).order_by("pk")}


def _drafts(source, target, amounts, prefix):
    return [EntryDraft(kind="transfer", description=f"t{i}", postings=[(source, -amount), (target, amount)],
                       metadata={"i": i}, idempotency_key=f"{prefix}{i}" if prefix else "")
            for i, amount in enumerate(amounts)]


def _written(a, b, prefix):
    """Each posting of the entries whose key starts with `prefix`, with the accounts named a and b."""
    names = {a.account_id: "a", b.account_id: "b"}
    return [(key[len(prefix):], kind, desc, meta, actor, names[account], amount, after)
            for key, kind, desc, meta, actor, account, amount, after in
            Posting.objects.filter(entry__idempotency_key__startswith=prefix).order_by("entry__idempotency_key", "id")
            .values_list("entry__idempotency_key", "entry__kind", "entry__description", "entry__metadata",
                         "entry__actor_label", "account_id", "amount", "balance_after")]


def test_batch_writes_the_rows_one_call_per_entry_writes(make_wallet, actor):
    amounts = [100, 250, 5]
    a1, b1, a2, b2 = (make_wallet("USD", balance=1000), make_wallet("USD"), make_wallet("USD", balance=1000),
                      make_wallet("USD"))
    with transaction.atomic():
        for d in _drafts(a1.account, b1.account, amounts, "one-"):
            ledger.post_entry(kind=d.kind, description=d.description, actor=actor, postings=d.postings,
                              metadata=d.metadata, idempotency_key=d.idempotency_key)
        locked = _locked(a2.account, b2.account)
        entries = ledger.post_entries(locked=locked, actor=actor,
                                                drafts=_drafts(locked[a2.account_id], locked[b2.account_id], amounts,
                                                               "batch-"))
    single, batch = _written(a1, b1, "one-"), _written(a2, b2, "batch-")
    assert batch == single
    assert [(row[5], row[6], row[7]) for row in batch] == [
        ("a", -100, 900), ("b", 100, 100), ("a", -250, 650), ("b", 250, 350), ("a", -5, 645), ("b", 5, 355)]
    assert [e.idempotency_key for e in entries] == ["batch-0", "batch-1", "batch-2"]
    assert all(e.pk.startswith("txn_") and not e._state.adding for e in entries)
    assert [[(p.amount, p.balance_after) for p in e.posting_rows] for e in entries] == [
        [(-100, 900), (100, 100)], [(-250, 650), (250, 350)], [(-5, 645), (5, 355)]]
    # The callers' locked rows carry the new balances; the version counts writes of the row (one here).
    assert (locked[a2.account_id].balance, locked[b2.account_id].balance) == (645, 355)
    assert LedgerAccount.objects.values_list("balance", "version").get(pk=a2.account_id) == (645, 2)
    assert LedgerAccount.objects.values_list("balance", "version").get(pk=b2.account_id) == (355, 1)


@pytest.mark.postgres
def test_batch_is_one_idempotency_query_and_one_statement_on_postgres(make_wallet, actor):
    a, b = make_wallet("USD", balance=1000), make_wallet("USD")
    with transaction.atomic():
        locked = _locked(a.account, b.account)
        with CaptureQueriesContext(connection) as queries:
            ledger.post_entries(locked=locked, actor=actor,
                                drafts=_drafts(locked[a.account_id], locked[b.account_id], [1] * 40, "q"))
    assert len(queries) == 2
    assert queries[0]["sql"].startswith('SELECT "wallets_journalentry"')
    assert JournalEntry.objects.filter(idempotency_key__startswith="q").count() == 40


@pytest.mark.postgres
def test_batch_without_locked_rows_locks_its_accounts_once_in_id_order(make_wallet, actor):
    a, b = make_wallet("USD", balance=1000), make_wallet("USD")
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        entries = ledger.post_entries(actor=actor, drafts=_drafts(a.account, b.account, [1] * 40, "u"))
    assert len(queries) == 3
    lock = queries[1]["sql"]  # after the key lookup, before the write
    assert lock.startswith('SELECT "wallets_ledgeraccount"') and lock.endswith("FOR UPDATE")
    assert 'ORDER BY "wallets_ledgeraccount"."id" ASC' in lock
    assert len(entries) == 40
    assert (a.account.balance, b.account.balance) == (960, 40)
    assert LedgerAccount.objects.values_list("balance", flat=True).get(pk=a.account_id) == 960


@pytest.mark.postgres
def test_a_batch_larger_than_one_statement_is_split_and_balances_set_once(make_wallet, actor, monkeypatch):
    monkeypatch.setattr(ledger_write, "ENTRIES_PER_STATEMENT", 2)
    a, b = make_wallet("USD", balance=1000), make_wallet("USD")
    with transaction.atomic():
        locked = _locked(a.account, b.account)
        with CaptureQueriesContext(connection) as queries:
            ledger.post_entries(locked=locked, actor=actor,
                                          drafts=_drafts(locked[a.account_id], locked[b.account_id],
                                                         [1, 2, 3, 4, 5], "s"))
    assert len(queries) == 1 + 3
    assert [(row[5], row[7]) for row in _written(a, b, "s")][-2:] == [("a", 985), ("b", 15)]
    assert LedgerAccount.objects.values_list("balance", "version").get(pk=a.account_id) == (985, 2)
    assert Posting.objects.filter(entry__idempotency_key__startswith="s").count() == 10


def test_used_keys_return_their_entries_and_repeats_in_the_batch_share_one(make_wallet, actor):
    a, b = make_wallet("USD", balance=1000), make_wallet("USD")
    with transaction.atomic():
        first = ledger.post_entry(kind="transfer", description="t", actor=actor,
                                  postings=[(a.account, -10), (b.account, 10)], idempotency_key="dup-0")
    with transaction.atomic():
        locked = _locked(a.account, b.account)
        src, dst = locked[a.account_id], locked[b.account_id]
        drafts = [EntryDraft("transfer", "again", [(src, -999), (dst, 999)], idempotency_key="dup-0"),
                  EntryDraft("transfer", "new", [(src, -20), (dst, 20)], idempotency_key="dup-1"),
                  EntryDraft("transfer", "repeat", [(src, -30), (dst, 30)], idempotency_key="dup-1"),
                  EntryDraft("transfer", "no key", [(src, -1), (dst, 1)])]
        entries = ledger.post_entries(locked=locked, actor=actor, drafts=drafts)
    assert entries[0].pk == first.pk
    assert entries[1] is entries[2]
    assert entries[1].description == "new"
    assert entries[3].description == "no key" and entries[3].pk not in {first.pk, entries[1].pk}
    assert LedgerAccount.objects.values_list("balance", flat=True).get(pk=a.account_id) == 1000 - 10 - 20 - 1
    assert JournalEntry.objects.filter(idempotency_key="dup-1").count() == 1


@pytest.mark.parametrize(("drafts", "error"), [
    # The second draft overdraws only because the first one spent the money.
    (lambda s, d: [EntryDraft("transfer", "ok", [(s, -600), (d, 600)], idempotency_key="x0"),
                   EntryDraft("transfer", "too much", [(s, -401), (d, 401)], idempotency_key="x1")],
     InsufficientFunds),
    (lambda s, d: [EntryDraft("transfer", "ok", [(s, -1), (d, 1)]),
                   EntryDraft("transfer", "unbalanced", [(s, -2), (d, 1)])], UnbalancedEntry),
])
def test_one_bad_draft_writes_nothing(make_wallet, actor, drafts, error):
    a, b = make_wallet("USD", balance=1000), make_wallet("USD")
    before = snapshot()
    with transaction.atomic():
        locked = _locked(a.account, b.account)
        with pytest.raises(error):
            ledger.post_entries(locked=locked, actor=actor, drafts=drafts(locked[a.account_id],
                                                                                    locked[b.account_id]))
        # Checked inside the caller's transaction: not even the valid first draft was written.
        assert snapshot() == before
        assert (locked[a.account_id].balance, locked[b.account_id].balance) == (1000, 0)


@pytest.mark.postgres
def test_post_entry_with_locked_rows_is_one_statement_and_matches_a_plain_post(make_wallet, actor):
    a1, b1, a2, b2 = (make_wallet("USD", balance=1000), make_wallet("USD"), make_wallet("USD", balance=1000),
                      make_wallet("USD"))
    with transaction.atomic():
        ledger.post_entry(kind="transfer", description="t0", actor=actor, metadata={"i": 0},
                          postings=[(a1.account, -70), (b1.account, 70)], idempotency_key="plain-0")
        locked = _locked(a2.account, b2.account)
        with CaptureQueriesContext(connection) as queries:
            entry = ledger.post_entry(kind="transfer", description="t0", actor=actor, metadata={"i": 0},
                                      postings=[(locked[a2.account_id], -70), (locked[b2.account_id], 70)],
                                      locked=locked)
    # No lock query (the rows are the caller's) and no key lookup (no key): the write alone.
    assert len(queries) == 1
    assert "FOR UPDATE" not in queries[0]["sql"]
    assert [(p.amount, p.balance_after) for p in entry.posting_rows] == [(-70, 930), (70, 70)]
    assert (locked[a2.account_id].balance, locked[b2.account_id].balance) == (930, 70)
    plain = [row[1:] for row in _written(a1, b1, "plain-")]
    prelocked = [(p.entry.kind, p.entry.description, p.entry.metadata, p.entry.actor_label,
                  {a2.account_id: "a", b2.account_id: "b"}[p.account_id], p.amount, p.balance_after)
                 for p in Posting.objects.filter(entry=entry).select_related("entry").order_by("id")]
    assert prelocked == plain
