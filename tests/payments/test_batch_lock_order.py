"""A batch's captures take the lock order every movement takes (wallets by id, then accounts by id), once for
the whole batch: a batch posting card captures and wallet top-ups cannot hold a platform account while it waits
for a wallet that a withdrawal holds on its way to that account."""

import threading
import time

import psycopg
import pytest
from django.db import connection

from core.context import Actor
from core.db import transaction_retried
from payments.services import ChargeRequest, payment_create_batch
from tests.factories import CustomerFactory
from tests.wallets_setup import open_wallet
from wallets.models import AccountType, LedgerAccount, Wallet

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _other_connection():
    params = connection.get_connection_params()
    return psycopg.connect(dbname=params["dbname"], user=params.get("user"), host=params.get("host"),
                           port=params.get("port"), password=params.get("password"), autocommit=False)


def _waiting_for_a_lock(monitor, pid_to_skip, deadline):
    while time.monotonic() < deadline:
        rows = monitor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                               " AND wait_event_type = 'Lock' AND pid <> %s", [pid_to_skip]).fetchall()
        if rows:
            return True
        time.sleep(0.02)
    return False


def _requests(cards, top_ups, first, held):
    """Card captures, then top-ups: the last into the `held` wallet, the others into the `first`."""
    requests = [ChargeRequest(customer_id=first.customer_id, amount=1_000 + i, currency="USD", method="card",
                              payment_method="tok_visa") for i in range(cards)]
    for i in range(top_ups):
        wallet = held if i == top_ups - 1 else first
        requests.append(ChargeRequest(customer_id=wallet.customer_id, amount=2_000 + i, currency="USD",
                                      method="card", payment_method="tok_visa", wallet_id=wallet.pk))
    return requests


@pytest.mark.parametrize("cards,top_ups,held_row", [(1, 1, "wallet"), (0, 2, "wallet"), (2, 3, "wallet"),
                                                    (2, 3, "first_account")])
def test_a_batch_waits_for_a_held_row_before_locking_the_clearing_account(one_sandbox, cards, top_ups, held_row):
    """Another transaction holds a row the batch needs before the clearing account, and then asks for the clearing
    account: the last top-up's wallet (as a withdrawal holds it), or the first top-up wallet's account, whose id is
    lower than the clearing account's (as a reversal of a withdrawal holds it, accounts in id order). The batch must be
    waiting for that row without holding the clearing account: the other transaction gets it at once, commits, and
    the batch goes on without a retry."""
    actor = Actor.system("tests")
    first = open_wallet(actor=actor, customer=CustomerFactory(), balance=10_000)
    wallet = open_wallet(actor=actor, customer=CustomerFactory(), balance=10_000)
    # Opened by the wallet's funding top-up.
    clearing = LedgerAccount.objects.get(account_type=AccountType.PROVIDER_CLEARING, currency="USD",
                                         owner="provider:sandbox")
    requests = _requests(cards, top_ups, first, wallet)
    retries, outcome = [], {}

    def retried(sender, **kwargs):
        retries.append(kwargs["reason"])

    def batch():
        try:
            outcome["results"] = payment_create_batch(actor=actor, requests=requests)
        except BaseException as exc:  # noqa: BLE001 - asserted on below
            outcome["error"] = exc
        finally:
            connection.close()

    holder, monitor = _other_connection(), _other_connection()
    monitor.autocommit = True
    transaction_retried.connect(retried)
    try:
        if held_row == "wallet":
            holder.execute(f'SELECT id FROM "{Wallet._meta.db_table}" WHERE id = %s FOR UPDATE', [wallet.pk])
        else:
            assert first.account_id < clearing.pk
            holder.execute(f'SELECT id FROM "{LedgerAccount._meta.db_table}" WHERE id = %s FOR UPDATE',
                           [first.account_id])
        thread = threading.Thread(target=batch)
        thread.start()
        assert _waiting_for_a_lock(monitor, holder.info.backend_pid, time.monotonic() + 30), "the batch never waited"
        holder.execute("SET LOCAL lock_timeout = '5s'")
        started = time.monotonic()
        holder.execute(f'SELECT id FROM "{LedgerAccount._meta.db_table}" WHERE id = %s FOR UPDATE', [clearing.pk])
        waited = time.monotonic() - started
        holder.commit()
        thread.join(60)
    finally:
        transaction_retried.disconnect(retried)
        holder.close()
        monitor.close()
    assert not thread.is_alive(), "the batch did not finish"
    assert waited < 1, waited
    assert "error" not in outcome, outcome
    assert [p.status for p in outcome["results"]] == ["succeeded"] * (cards + top_ups)
    assert retries == []
    topped_up = sum(2_000 + i for i in range(top_ups))
    assert LedgerAccount.objects.get(pk=wallet.account_id).balance == 10_000 + 2_000 + top_ups - 1
    assert LedgerAccount.objects.get(pk=first.account_id).balance == 10_000 + topped_up - (2_000 + top_ups - 1)
    assert LedgerAccount.objects.get(pk=clearing.pk).balance == -20_000 - topped_up - sum(
        1_000 + i for i in range(cards))
