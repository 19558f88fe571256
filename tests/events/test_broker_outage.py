"""Nothing is lost when the broker is down: issue 13's proof, against a redis-server of the test's own.

The broker stops; 200 payments are created (they must not notice); the relay tries to publish and
every row stays due; the broker starts again on the same port; the relay publishes everything; the
messages are consumed from that broker and run by the real `webhooks.deliver` code; a receiver that
deduplicates by `webhook-id` has every payment's events exactly once.
"""

import time

import pytest
from celery import Celery, current_app
from kombu import Queue

from core import clock
from core.events import dispatch_pending
from core.models import Event, OutboxMessage
from core.outbox import RETRY_CAP, celery_publisher, relay_once
from payments.models import Payment
from payments.services import payment_create
from tests.factories import CustomerFactory
from tests.webhooks.conftest import Receiver
from webhooks.models import WebhookDelivery
from webhooks.services import webhook_endpoint_create

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
PAYMENTS = 200


def _broker_app(url: str) -> Celery:
    app = Celery("broker-outage-test", broker=url)
    # A stopped broker must answer at once, not after Celery's default 4 s connect timeout.
    app.conf.broker_connection_timeout = 1
    return app


def _relay_until_done(publish, *, deadline: float) -> int:
    """What `manage.py outbox_relay` loops on: events fanned out, due rows published. Returns how
    many were published; fails when a publish fails (the broker is up here)."""
    sent = 0
    while time.monotonic() < deadline:
        while dispatch_pending():
            pass
        result = relay_once(publish=publish)
        assert result.failed == 0
        sent += result.sent
        if result.sent == 0 and not Event.objects.filter(dispatched_at__isnull=True).exists():
            return sent
    pytest.fail("the relay did not finish in time")


def _consume(app: Celery, *, deadline: float) -> list[tuple[str, bool | None]]:
    """A worker's loop, in-process: every message on the broker's default queue is taken, acked and
    run through the registered task's own code (`webhooks.deliver` -> attempt_delivery), until the
    queue stays empty. Returns (message id, task result) of each message run."""
    ran: list[tuple[str, bool | None]] = []

    def on_message(body, message):
        args, kwargs, _embed = body
        result = current_app.tasks[message.headers["task"]].apply(args=args, kwargs=kwargs, throw=True).get()
        message.ack()
        ran.append((message.headers["id"], result))

    with app.connection_for_read() as conn:
        with conn.Consumer(Queue("celery"), callbacks=[on_message], accept=["json"]):
            while time.monotonic() < deadline:
                try:
                    conn.drain_events(timeout=1)
                except TimeoutError:
                    return ran
    pytest.fail("the queue did not drain in time")


def test_payments_made_while_the_broker_is_down_are_all_delivered_exactly_once(redis_server, settings,
                                                                                 system_actor):
    deadline = time.monotonic() + 50
    settings.WEBHOOK_ALLOW_INSECURE = settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    hook = Receiver()
    endpoint = webhook_endpoint_create(actor=system_actor, url=hook.url, enabled_events=["payment.created",
                                                                                         "payment.succeeded"])
    app = _broker_app(redis_server.url)
    redis_server.start()
    publish = celery_publisher(app)  # reads the broker's error types off a live connection first
    redis_server.stop()

    customer = CustomerFactory()
    payments = [payment_create(actor=system_actor, customer_id=customer.pk, amount=1_000 + n, currency="USD",
                               method="card", payment_method="tok_visa") for n in range(PAYMENTS)]
    assert {p.status for p in payments} == {"succeeded"}
    events = list(Event.objects.filter(object_id__in=[p.pk for p in payments]).values_list("pk", "type"))
    assert sorted(t for _, t in events) == ["payment.created"] * PAYMENTS + ["payment.succeeded"] * PAYMENTS

    # The relay with the broker down: the events fan out (a database-only step), every publish fails
    # and the rows stay due.
    while dispatch_pending():
        pass
    assert WebhookDelivery.objects.filter(endpoint=endpoint).count() == 2 * PAYMENTS
    assert relay_once(publish=publish) == (0, 1)  # the first failure stops the batch
    assert OutboxMessage.objects.filter(sent_at__isnull=True).count() == 2 * PAYMENTS
    [failed] = OutboxMessage.objects.filter(attempts=1)
    assert failed.last_error
    with clock.frozen_at(clock.now() + RETRY_CAP):
        assert relay_once(publish=publish) == (0, 1)
    assert OutboxMessage.objects.filter(sent_at__isnull=True).count() == 2 * PAYMENTS

    redis_server.start()  # the same port
    with clock.frozen_at(clock.now() + RETRY_CAP):  # the failed row is due again
        assert _relay_until_done(publish, deadline=deadline) == 2 * PAYMENTS
    assert OutboxMessage.objects.filter(sent_at__isnull=True).count() == 0

    ran = _consume(app, deadline=deadline)
    assert len(ran) == 2 * PAYMENTS and {result for _, result in ran} == {True}

    received = [r["headers"]["webhook-id"] for r in hook.received]
    assert len(received) == len(set(received)) == 2 * PAYMENTS  # exactly once: no copy to deduplicate
    assert set(received) == {pk for pk, _ in events}
    assert set(WebhookDelivery.objects.values_list("status", "attempts")) == {("succeeded", 1)}
    # The crash retries scheduled before each send were cancelled on success: nothing left to publish.
    assert OutboxMessage.objects.filter(sent_at__isnull=True).count() == 0
    assert Payment.objects.filter(status="succeeded").count() == PAYMENTS
    hook.close()
