"""What the guarded-write tests share: a wallet's balance as stored, the retries `core.db` logged, and a change
made by another connection between a movement's read of the wallets without their locks and its write."""

import threading

from tests.concurrency import failures, run_threads
from wallets import services
from wallets.models import LedgerAccount
from wallets.services import movements


def balance(wallet) -> int:
    return LedgerAccount.objects.get(pk=wallet.account_id).balance


def drain(wallet, sink, actor):
    """A change for `interfere_after_the_read`: a transfer leaving 1.00 in `wallet`."""
    return lambda: services.wallet_transfer(actor=actor, from_wallet_id=wallet.pk, to_wallet_id=sink.pk,
                                            amount=balance(wallet) - 100, currency="USD")


def retries(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "core.db" and r.getMessage() == "retrying transaction"]


def interfere_after_the_read(monkeypatch, change):
    """Runs `change()` in another thread (its own connection, committed) right after the movement's first read of
    the wallets without their locks, once; returns the reads this thread made."""
    original = movements.wallet_read_with_accounts
    calls = []

    caller = threading.current_thread()

    def read_then_change(*ids):
        read = original(*ids)
        if threading.current_thread() is not caller:  # the change's own movement
            return read
        calls.append(ids)
        if len(calls) == 1:
            outcome = run_threads(1, lambda _: change())
            assert not failures(outcome), outcome
        return read

    monkeypatch.setattr(movements, "wallet_read_with_accounts", read_then_change)
    return calls


def assert_refused_after_one_retry(response, status, code, *, drained, reads, caplog):
    """A door's answer when a change between the read and the write made the guard refuse: the first attempt rolled
    back, the second read nothing unlocked and refused as the locked path does (a drain leaves 1.00 available)."""
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code
    if drained:
        assert response.json()["error"]["details"]["available"] == "1.00"
    assert len(reads) == 1 and len(retries(caplog)) == 1
