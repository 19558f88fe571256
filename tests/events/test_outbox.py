import datetime as dt

import pytest
import redis
from celery import Celery, shared_task
from django.db import transaction

from core import clock
from core.models import OutboxMessage
from core.outbox import celery_publisher, enqueue, relay_once, run_due_locally

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)
ran: list = []


@shared_task(name="tests.outbox_record")
def record(value, *, tag=""):
    ran.append((value, tag))


def test_enqueue_records_the_call_unsent():
    with transaction.atomic():
        message = enqueue("tests.outbox_record", 1, tag="x")
    assert (message.args, message.kwargs, message.sent_at) == ([1], {"tag": "x"}, None)


@pytest.mark.django_db(transaction=True)
def test_enqueue_needs_the_change_transaction():
    with pytest.raises(RuntimeError, match="inside a transaction"):
        enqueue("tests.outbox_record", 1)
    assert OutboxMessage.objects.count() == 0


def test_run_due_locally_runs_due_messages_once_and_leaves_later_ones():
    ran.clear()
    with clock.frozen_at(T0), transaction.atomic():
        enqueue("tests.outbox_record", 1)
        enqueue("tests.outbox_record", 2, at=T0 + dt.timedelta(minutes=5))
    with clock.frozen_at(T0):
        assert run_due_locally() == 1
        assert run_due_locally() == 0
    assert ran == [(1, "")]
    with clock.frozen_at(T0 + dt.timedelta(minutes=5)):
        assert run_due_locally() == 1
    assert ran == [(1, ""), (2, "")]
    assert OutboxMessage.objects.filter(sent_at__isnull=True).count() == 0


def test_broker_down_keeps_the_message_then_sends_it_when_back(redis_server):
    app = Celery("outbox-test", broker=redis_server.url)
    app.conf.broker_connection_timeout = 1
    publish = celery_publisher(app)
    with clock.frozen_at(T0), transaction.atomic():
        message = enqueue("tests.outbox_record", 7)
    with clock.frozen_at(T0):
        assert relay_once(publish=publish) == (0, 1)  # no broker yet: nothing listens on the port
    message.refresh_from_db()
    assert (message.sent_at, message.attempts, message.next_attempt_at) == (None, 1, T0 + dt.timedelta(seconds=2))
    assert message.last_error
    with clock.frozen_at(T0 + dt.timedelta(seconds=1)):
        assert relay_once(publish=publish) == (0, 0)  # not due again yet
    redis_server.start()
    with clock.frozen_at(T0 + dt.timedelta(seconds=2)):
        assert relay_once(publish=publish) == (1, 0)
    message.refresh_from_db()
    assert message.sent_at == T0 + dt.timedelta(seconds=2)
    assert redis.Redis.from_url(redis_server.url).llen("celery") == 1
    with clock.frozen_at(T0 + dt.timedelta(seconds=3)):
        assert relay_once(publish=publish) == (0, 0)
    assert redis.Redis.from_url(redis_server.url).llen("celery") == 1
