"""A real Celery worker killed (SIGKILL) in the middle of a webhook delivery: the delivery is retried.

Issue 13's proof, with real processes: a redis-server of the test's own, `celery -A config worker`
subprocesses against the test database, a receiver that holds the first request open. The first
worker is killed while the receiver holds its request; the retry it scheduled in the outbox before
sending is published by the relay once due; a second worker delivers it.
"""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from celery import Celery
from django.db import connection

from core import clock
from core.events import dispatch_pending
from core.models import OutboxMessage
from core.outbox import celery_publisher, relay_once
from payments.services import payment_create
from tests.factories import CustomerFactory
from tests.webhooks.conftest import Receiver
from webhooks.models import WebhookAttempt, WebhookDelivery
from webhooks.services import webhook_endpoint_create

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]


class HoldingReceiver(Receiver):
    """Holds the first request open until `release` (a slow integrator), answering 200 afterwards."""

    def __init__(self):
        super().__init__([200])
        self.arrived = threading.Event()
        self.release = threading.Event()
        handler = self.server.RequestHandlerClass
        original = handler.do_POST
        receiver = self

        def do_post(request):
            if not receiver.arrived.is_set():
                receiver.arrived.set()
                receiver.release.wait(30)
            original(request)

        handler.do_POST = do_post


def _worker(broker_url: str, log: Path) -> subprocess.Popen:
    """A worker as Procfile runs it, one task at a time, its output in `log` (read it when a wait fails)."""
    db = connection.settings_dict
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test",
           "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
           # The broker is the test's own (`-b`); no other Redis, so no per-process key prefix.
           "REDIS_URL": "", "WEBHOOK_ALLOW_INSECURE": "true", "WEBHOOK_ALLOW_PRIVATE_TARGETS": "true"}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    celery = str(Path(sys.executable).with_name("celery"))
    return subprocess.Popen([celery, "-A", "config", "-b", broker_url, "worker", "--pool", "solo", "-Q", "celery",
                             "--without-heartbeat", "--without-gossip", "--without-mingle", "--loglevel", "WARNING"],
                            cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)


def _wait(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def test_a_worker_killed_mid_delivery_is_retried_by_another(redis_server, settings, system_actor, tmp_path):
    settings.WEBHOOK_ALLOW_INSECURE = settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    hook = HoldingReceiver()
    workers: list[subprocess.Popen] = []
    try:
        endpoint = webhook_endpoint_create(actor=system_actor, url=hook.url, enabled_events=["payment.succeeded"])
        redis_server.start()
        app = Celery("worker-killed-test", broker=redis_server.url)
        app.conf.broker_connection_timeout = 1
        publish = celery_publisher(app)
        payment_create(actor=system_actor, customer_id=CustomerFactory().pk, amount=1_000, currency="USD",
                       method="card", payment_method="tok_visa")
        assert dispatch_pending() == 2
        assert relay_once(publish=publish) == (1, 0)

        workers.append(_worker(redis_server.url, tmp_path / "worker-1.log"))
        _wait(hook.arrived.is_set, 30, "the first worker's request")
        os.kill(workers[0].pid, signal.SIGKILL)
        assert workers[0].wait(10) == -signal.SIGKILL
        hook.release.set()

        delivery = WebhookDelivery.objects.get(endpoint=endpoint)
        # Taken and counted, the retry scheduled in the outbox before the send; never finished.
        assert (delivery.status, delivery.attempts) == ("pending", 1)
        assert WebhookAttempt.objects.count() == 0
        retry = OutboxMessage.objects.get(pk=delivery.retry_message_id)
        assert (retry.sent_at, retry.next_attempt_at, retry.args) == (None, delivery.next_attempt_at,
                                                                       [delivery.pk, delivery.token])
        assert relay_once(publish=publish) == (0, 0)  # not due before the backoff
        with clock.frozen_at(delivery.next_attempt_at):
            assert relay_once(publish=publish) == (1, 0)

        workers.append(_worker(redis_server.url, tmp_path / "worker-2.log"))

        def delivered():
            delivery.refresh_from_db()
            return delivery.status != "pending"

        _wait(delivered, 30, "the second worker's delivery")
        assert (delivery.status, delivery.attempts) == ("succeeded", 2)
        [attempt] = WebhookAttempt.objects.all()
        assert (attempt.number, attempt.status_code, attempt.succeeded) == (2, 200, True)
        # The killed worker's request reached the receiver too (at-least-once); the event id is the same.
        assert [r["headers"]["webhook-id"] for r in hook.received] == [delivery.event_id] * 2
        assert OutboxMessage.objects.filter(sent_at__isnull=True).count() == 0
    finally:
        hook.release.set()
        for worker in workers:
            if worker.poll() is None:
                worker.terminate()
                worker.wait(20)
        hook.close()
