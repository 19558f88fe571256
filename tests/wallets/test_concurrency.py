"""Proof on PostgreSQL with real threads: no money lost or invented, one effect per key."""

import random
import threading

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from core.context import Actor
from core.db import use_case
from core.errors import DomainError
from tests.concurrency import failures, run_threads
from wallets import services
from wallets.models import JournalEntry, LedgerAccount, Posting
from wallets.selectors.verify import ledger_verify

THREADS = 16
TRANSFERS_PER_THREAD = 500
WALLETS = 50
START_BALANCE = 10_000


def run_all(count, target):
    assert not (errors := failures(run_threads(count, target))), errors[:3]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_bank_16_threads_500_transfers_50_wallets(roles, make_wallet):
    wallets = [make_wallet("USD", balance=START_BALANCE) for _ in range(WALLETS)]
    ids = [w.pk for w in wallets]
    accounts = [w.account_id for w in wallets]
    total_before = sum(LedgerAccount.objects.filter(pk__in=accounts).values_list("balance", flat=True))
    assert total_before == WALLETS * START_BALANCE
    entries_before = JournalEntry.objects.count()
    succeeded: list[list[str]] = [[] for _ in range(THREADS)]
    refused: list[dict[str, int]] = [{} for _ in range(THREADS)]

    def worker(i):
        rng = random.Random(i)
        actor = Actor.system(f"bank-{i}")
        for n in range(TRANSFERS_PER_THREAD):
            if n % 5 == 0:
                # Opposite-direction pairs: even threads send 0->1, odd threads 1->0, at the same time.
                a, b = (ids[0], ids[1]) if i % 2 == 0 else (ids[1], ids[0])
            else:
                a, b = rng.sample(ids, 2)
            # Amounts up to 1.5x the starting balance, so overdraft attempts are frequent.
            amount = rng.randint(1, START_BALANCE * 3 // 2)
            try:
                entry = services.wallet_transfer(actor=actor, from_wallet_id=a, to_wallet_id=b, amount=amount,
                                                 currency="USD")
            except DomainError as exc:
                refused[i][exc.code] = refused[i].get(exc.code, 0) + 1
            else:
                succeeded[i].append(entry.pk)

    run_all(THREADS, worker)

    ok_ids = [pk for per_thread in succeeded for pk in per_thread]
    refusals = {}
    for per_thread in refused:
        for code, n in per_thread.items():
            refusals[code] = refusals.get(code, 0) + n
    assert len(ok_ids) + sum(refusals.values()) == THREADS * TRANSFERS_PER_THREAD
    assert set(refusals) == {"insufficient_funds"}, refusals
    assert refusals["insufficient_funds"] > 0 and len(ok_ids) > 0
    balances = list(LedgerAccount.objects.filter(pk__in=accounts).values_list("balance", flat=True))
    assert sum(balances) == total_before
    assert min(balances) >= 0
    # Exactly one entry (of two postings) per successful transfer, none for a refused one.
    transfer_ids = set(JournalEntry.objects.filter(kind="transfer").values_list("pk", flat=True))
    assert len(ok_ids) == len(set(ok_ids)) == len(transfer_ids)
    assert transfer_ids == set(ok_ids)
    assert JournalEntry.objects.count() == entries_before + len(ok_ids)
    assert Posting.objects.filter(kind="transfer").count() == 2 * len(ok_ids)
    report = ledger_verify()
    assert report.problems == []
    call_command("verify_ledger")  # exits non-zero (SystemExit) if anything is wrong


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_idempotency_race_20_threads_one_key_one_transfer(roles, make_key, make_wallet):
    created = make_key("wallets:write")
    a = make_wallet("USD", balance=5000)
    b = make_wallet("USD")
    body = {"from_wallet_id": a.pk, "to_wallet_id": b.pk, "amount": "12.34", "currency": "usd",
            "description": "race"}
    results = [None] * 20

    def worker(i):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {created.raw_key}")
        response = client.post("/api/v1/transfers", body, format="json", HTTP_IDEMPOTENCY_KEY="race-key-1")
        results[i] = (response.status_code, response.json(), response.get("Idempotent-Replayed"))

    run_all(20, worker)

    statuses = sorted(r[0] for r in results)
    assert set(statuses) <= {201, 409}, statuses
    originals = [r for r in results if r[0] == 201 and r[2] is None]
    replays = [r for r in results if r[0] == 201 and r[2] == "true"]
    busy = [r for r in results if r[0] == 409]
    assert len(originals) == 1
    assert all(r[1]["error"]["code"] == "idempotency_key_in_use" for r in busy)
    assert all(r[1] == originals[0][1] for r in replays)
    assert JournalEntry.objects.filter(kind="transfer").count() == 1
    assert JournalEntry.objects.get(kind="transfer").pk == originals[0][1]["id"]
    assert LedgerAccount.objects.get(pk=a.account_id).balance == 5000 - 1234
    assert LedgerAccount.objects.get(pk=b.account_id).balance == 1234
    assert ledger_verify().problems == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_mixed_paths_conserve_money_and_keep_the_ledger_clean(roles, make_wallet):
    """Transfers (wallet+account locks), holds and captures (hold, then accounts), withdrawals and
    adjustments (system accounts) and reversals (accounts only) at once, on the same wallets."""
    from wallets import ledger
    from wallets.models import AccountType

    wallets = [make_wallet("USD", balance=50_000) for _ in range(6)]
    ids = [w.pk for w in wallets]
    counts = {"ok": 0, "refused": 0}
    lock = threading.Lock()

    def worker(i):
        rng = random.Random(100 + i)
        actor = Actor.system(f"mixed-{i}")
        for _ in range(60):
            a, b = rng.sample(ids, 2)
            amount = rng.randint(1, 20_000)
            kind = rng.choice(["transfer", "hold", "withdraw", "adjust", "reverse"])

            @use_case  # the hold path composes inner helpers: one transaction for the lot
            def op(a=a, b=b, amount=amount, kind=kind):
                if kind == "transfer":
                    return services.wallet_transfer(actor=actor, from_wallet_id=a, to_wallet_id=b, amount=amount,
                                                    currency="USD")
                if kind == "withdraw":
                    return services.wallet_withdraw(actor=actor, wallet_id=a, amount=amount)
                if kind == "adjust":
                    return services.wallet_adjust(actor=actor, wallet_id=a, amount=rng.choice([-1, 1]) * amount,
                                                  reason="mixed test")
                if kind == "reverse":
                    entry = JournalEntry.objects.filter(kind="transfer", reversed_by__isnull=True).order_by("?").first()
                    if entry is None:
                        return None
                    return ledger.entry_reverse(entry_id=entry.pk, actor=actor, reason="mixed test")
                wallet = services.wallet_get(wallet_id=a)
                services.wallet_ensure_can_pay(wallet=wallet, amount=amount)
                hold = ledger.hold_reserve(account=wallet.account, amount=amount, actor=actor)
                target = services.wallet_get(wallet_id=b).account
                if rng.random() < 0.5:
                    return ledger.hold_void(hold_id=hold.pk, actor=actor)
                return ledger.hold_capture(hold_id=hold.pk, amount=rng.randint(1, amount), destination=target,
                                           actor=actor, kind="wallet_payment")

            try:
                op()
            except DomainError:
                with lock:
                    counts["refused"] += 1
            else:
                with lock:
                    counts["ok"] += 1

    run_all(8, worker)

    assert counts["ok"] + counts["refused"] == 8 * 60
    assert counts["ok"] > 100
    # Every posting has its opposite: all accounts together still sum to zero.
    assert sum(LedgerAccount.objects.values_list("balance", flat=True)) == 0
    assert min(LedgerAccount.objects.filter(account_type=AccountType.CUSTOMER_WALLET)
               .values_list("balance", flat=True)) >= 0
    assert LedgerAccount.objects.filter(pending_debits__gt=0).count() == 0
    assert ledger_verify().problems == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_daily_limit_holds_under_concurrency(roles, make_wallet):
    source = make_wallet("USD", balance=100_000, daily_limit=500)
    targets = [make_wallet("USD") for _ in range(12)]
    outcomes = [None] * 12

    def worker(i):
        actor = Actor.system(f"limit-{i}")
        try:
            services.wallet_transfer(actor=actor, from_wallet_id=source.pk, to_wallet_id=targets[i].pk, amount=100,
                                     currency="USD")
        except DomainError as exc:
            outcomes[i] = exc.code
        else:
            outcomes[i] = "ok"

    run_all(12, worker)

    assert sorted(outcomes) == ["limit_exceeded"] * 7 + ["ok"] * 5
    assert LedgerAccount.objects.get(pk=source.account_id).balance == 100_000 - 500
    assert JournalEntry.objects.filter(kind="transfer").count() == 5
