"""A writer's transaction still open with an audit row: the sealer, in another connection, seals nothing
at or past it (not even rows committed after it began), and once it commits the chain takes its row in
and stays intact. Real threads, one PostgreSQL connection each."""

import threading

import pytest
from django.db import transaction

from compliance.chain import seal_pending, verify_chain
from core.models import AuditEvent
from tests.concurrency import failures, run_threads

from .chainkit import chain, record, seal_all

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_the_sealer_never_seals_past_a_transaction_that_may_still_commit():
    first = record(0)
    seal_all()
    inserted = threading.Event()
    release = threading.Event()
    seen = {}

    def writer():
        with transaction.atomic():
            event = record(1)  # earlier than what the other thread commits meanwhile
            inserted.set()
            assert release.wait(60)
        return event.id

    def sealer():
        assert inserted.wait(60)
        try:
            later = record(2)  # committed while the writer's transaction is still open
            seen["sealed"] = seal_pending()
            seen["unsealed"] = sorted(AuditEvent.objects.filter(seq__isnull=True).values_list("object_id", flat=True))
            seen["chain"] = chain()
            return later.id
        finally:
            release.set()

    outcomes = run_threads(2, lambda i: writer() if i == 0 else sealer())
    assert failures(outcomes) == []
    held, later = outcomes
    assert seen == {"sealed": 0, "unsealed": ["cus_2"], "chain": [(1, first.id)]}  # the writer's row is not visible
    seal_all()
    assert chain() == [(1, first.id), (2, held), (3, later)]
    assert verify_chain().as_dict() == {"intact": True, "count": 3, "first_broken_event_id": None, "reason": None}


def test_two_sealers_at_once_seal_each_event_once():
    for minute in range(40):
        record(minute)
    outcomes = run_threads(2, lambda i: seal_pending())
    assert failures(outcomes) == []
    seal_all()
    assert [seq for seq, _ in chain()] == list(range(1, 41))
    assert verify_chain().as_dict() == {"intact": True, "count": 40, "first_broken_event_id": None, "reason": None}


def test_writers_never_wait_on_a_sealer_and_a_second_sealer_does_not_wait_either():
    for minute in range(3):
        record(minute)
    sealing = threading.Event()
    release = threading.Event()

    def sealer():
        with transaction.atomic():  # the sealer's transaction held open: its lock and its updated rows
            sealed = seal_all()
            sealing.set()
            assert release.wait(60)
        return sealed

    def writer():
        from django.db import connection

        assert sealing.wait(60)
        try:
            with connection.cursor() as cursor:
                cursor.execute("SET statement_timeout = '3s'")
            written = record(9).id
            return written, seal_pending()  # the other sealer holds the lock: 0 at once
        finally:
            release.set()

    outcomes = run_threads(2, lambda i: sealer() if i == 0 else writer())
    assert failures(outcomes) == []
    assert outcomes[0] == 3
    written, second = outcomes[1]
    assert second == 0
    seal_all()
    assert [event_id for _, event_id in chain()][-1] == written
    assert verify_chain().as_dict() == {"intact": True, "count": 4, "first_broken_event_id": None, "reason": None}
