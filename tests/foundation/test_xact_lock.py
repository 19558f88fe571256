"""`core.db.xact_lock`: the rollup refreshes run one at a time. A refresh started while another transaction holds
its lock waits for that transaction to end (PostgreSQL, real threads), so two refreshes never interleave their
delete-and-rewrite of the same rows."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from core.db import xact_lock
from monitoring import services_rollups
from subscriptions import mrr_rollup

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

REFRESHES = [
    (services_rollups.customer_activity_refresh, services_rollups._LOCK_ID),
    (services_rollups.payment_days_refresh, services_rollups._PAYMENT_DAYS_LOCK_ID),
    (mrr_rollup.mrr_months_refresh, mrr_rollup._LOCK_ID),
]


def test_the_lock_needs_a_transaction():
    with pytest.raises(RuntimeError):
        xact_lock(1)


@pytest.mark.parametrize(("refresh", "lock_id"), REFRESHES, ids=["customer_activity", "payment_days", "mrr_months"])
def test_a_refresh_waits_for_whoever_holds_its_lock(refresh, lock_id):
    held, release, done = threading.Event(), threading.Event(), threading.Event()
    outcome: list = []

    def holder():
        try:
            with transaction.atomic():
                xact_lock(lock_id)
                held.set()
                release.wait(10)
        finally:
            connection.close()

    def refresher():
        try:
            outcome.append(refresh())
        except BaseException as exc:  # noqa: BLE001 - asserted below
            outcome.append(exc)
        finally:
            done.set()
            connection.close()

    first = threading.Thread(target=holder)
    first.start()
    assert held.wait(10)
    second = threading.Thread(target=refresher)
    second.start()
    assert not done.wait(1.0), "the refresh ran while another transaction held its lock"
    release.set()
    assert done.wait(30)
    first.join(10)
    second.join(10)
    assert len(outcome) == 1 and not isinstance(outcome[0], BaseException), outcome
