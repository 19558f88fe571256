import datetime as dt
import json

import pytest
from django.db import transaction
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from core import clock
from core.audit import AuditEvent
from core.events import dispatch_pending, emit
from core.models import OutboxMessage
from core.outbox import run_due_locally
from tests.events.declared import PaymentSideEvent, WalletSideEvent
from tests.factories import CustomerFactory
from webhooks import delivery as webhook_delivery
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from webhooks.services import webhook_endpoint_create, webhook_endpoint_rotate_secret

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)


def _endpoint(actor, url, **kwargs):
    return webhook_endpoint_create(actor=actor, url=url, **kwargs)


def _emit(type=PaymentSideEvent.POKED, obj=None):
    with transaction.atomic():
        return emit(type, obj or CustomerFactory())


def test_delivery_is_signed_the_standard_webhooks_way(receiver, system_actor):
    hook = receiver()
    endpoint = _endpoint(system_actor, hook.url)
    event = _emit()
    assert run_due_locally() == 1
    [got] = hook.received
    assert json.loads(got["body"])["id"] == event.pk
    assert got["headers"]["webhook-id"] == event.pk
    payload = Webhook(endpoint.secret).verify(got["body"], got["headers"])
    assert payload["type"] == "test.customer_poked" and payload["data"]["object"]["id"] == event.object_id
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=").verify(got["body"], got["headers"])
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("succeeded", 1, None)
    assert OutboxMessage.objects.filter(sent_at__isnull=True).count() == 0  # the crash retry was cancelled


def test_rotation_signs_with_both_secrets_for_24_hours(receiver, system_actor):
    hook = receiver()
    endpoint = _endpoint(system_actor, hook.url)
    old = endpoint.secret
    new = webhook_endpoint_rotate_secret(actor=system_actor, endpoint_id=endpoint.pk).secret
    _emit()
    run_due_locally()
    got = hook.received[-1]
    assert len(got["headers"]["webhook-signature"].split(" ")) == 2
    assert Webhook(old).verify(got["body"], got["headers"]) == Webhook(new).verify(got["body"], got["headers"])
    with clock.frozen_at(clock.now() + dt.timedelta(hours=24, seconds=1)):
        _emit()
        run_due_locally()
    later = hook.received[-1]
    assert len(later["headers"]["webhook-signature"].split(" ")) == 1
    # Verified at the signing moment's time (the library checks the timestamp against its clock).
    assert later["headers"]["webhook-signature"] == webhook_delivery.signing.sign(
        new, later["headers"]["webhook-id"], int(later["headers"]["webhook-timestamp"]), later["body"])
    assert later["headers"]["webhook-signature"] != webhook_delivery.signing.sign(
        old, later["headers"]["webhook-id"], int(later["headers"]["webhook-timestamp"]), later["body"])


def test_retries_back_off_exponentially_with_jitter_under_a_controlled_clock(receiver, system_actor, settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 30
    hook = receiver([500, 503, 200])
    endpoint = _endpoint(system_actor, hook.url)
    with clock.frozen_at(T0):
        event = _emit()
        assert run_due_locally() == 1
    delivery = WebhookDelivery.objects.get()
    first_retry = delivery.next_attempt_at
    assert T0 + dt.timedelta(seconds=30) <= first_retry <= T0 + dt.timedelta(seconds=37.5)
    with clock.frozen_at(first_retry - dt.timedelta(seconds=1)):
        assert run_due_locally() == 0  # not yet
    with clock.frozen_at(first_retry):
        assert run_due_locally() == 1
    delivery.refresh_from_db()
    second_retry = delivery.next_attempt_at
    assert first_retry + dt.timedelta(seconds=60) <= second_retry <= first_retry + dt.timedelta(seconds=75)
    with clock.frozen_at(second_retry):
        assert run_due_locally() == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("succeeded", 3, None)
    assert [r["headers"]["webhook-id"] for r in hook.received] == [event.pk] * 3
    log = list(WebhookAttempt.objects.filter(endpoint=endpoint).order_by("number"))
    assert [(a.number, a.status_code, a.succeeded) for a in log] == [(1, 500, False), (2, 503, False), (3, 200, True)]
    assert [a.next_retry_at for a in log] == [first_retry, second_retry, None]
    assert log[0].response_body == ("answer 1 " * 200)[:1024] and len(log[0].response_body) == 1024
    with clock.frozen_at(second_retry + dt.timedelta(days=1)):
        assert run_due_locally() == 0  # nothing left scheduled


def test_a_worker_killed_mid_delivery_is_retried(receiver, system_actor):
    hook = receiver()
    _endpoint(system_actor, hook.url)
    with clock.frozen_at(T0):
        _emit()
        assert dispatch_pending() == 1  # the relay's first half: the event fanned out to the endpoint
        from celery import current_app

        # What a worker does before it is killed: takes the message and begins the attempt, never finishes.
        [message] = OutboxMessage.objects.filter(sent_at__isnull=True)
        OutboxMessage.objects.filter(pk=message.pk).update(sent_at=T0)
        webhook_delivery._begin(*message.args)
    assert hook.received == []
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    with clock.frozen_at(delivery.next_attempt_at):
        assert run_due_locally() == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, len(hook.received)) == ("succeeded", 2, 1)
    # The message the killed worker held, delivered again by the broker, finds its token spent.
    assert current_app.tasks["webhooks.deliver"].apply(args=message.args).get() is None
    assert len(hook.received) == 1


def test_an_endpoint_failing_for_three_days_is_disabled_with_an_audit_event(receiver, system_actor):
    hook = receiver([500])
    endpoint = _endpoint(system_actor, hook.url)
    with clock.frozen_at(T0):
        _emit()
        run_due_locally()
    moment = T0
    for _ in range(60):
        delivery = WebhookDelivery.objects.get()
        if delivery.next_attempt_at is None:
            break
        moment = delivery.next_attempt_at
        with clock.frozen_at(moment):
            run_due_locally()
    delivery = WebhookDelivery.objects.get()
    endpoint.refresh_from_db()
    assert delivery.status == "failed" and delivery.next_attempt_at is None
    assert T0 + dt.timedelta(days=2) < moment <= T0 + dt.timedelta(days=3)
    assert endpoint.enabled is True  # failing since T0, and the last retry came before T0 + 3 days
    # One more failing event after the window: the endpoint is disabled, audited.
    with clock.frozen_at(T0 + dt.timedelta(days=3, minutes=1)):
        _emit()
        run_due_locally()
    endpoint.refresh_from_db()
    assert endpoint.enabled is False
    audit = AuditEvent.objects.get(action="webhook_endpoint.disabled")
    assert (audit.object_id, audit.actor_type, audit.actor_id) == (endpoint.pk, "task", "webhooks.deliver")
    # A disabled endpoint receives nothing more.
    received = len(hook.received)
    with clock.frozen_at(T0 + dt.timedelta(days=4)):
        _emit()
        run_due_locally()
    assert len(hook.received) == received


def test_only_wanted_types_go_to_an_endpoint(receiver, system_actor):
    hook = receiver()
    _endpoint(system_actor, hook.url, enabled_events=["test.customer_nudged"])
    _emit(PaymentSideEvent.POKED)
    nudged = _emit(WalletSideEvent.NUDGED)
    run_due_locally()
    assert [json.loads(r["body"])["id"] for r in hook.received] == [nudged.pk]


def test_the_send_time_check_refuses_a_target_that_became_private(receiver, system_actor, settings):
    hook = receiver()
    _endpoint(system_actor, hook.url)
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False  # as if the name now resolved to 127.0.0.1
    _emit()
    run_due_locally()
    assert hook.received == []
    attempt = WebhookAttempt.objects.get()
    assert (attempt.status_code, attempt.succeeded) == (None, False)
    assert attempt.error.startswith("webhook_target_refused")
    assert WebhookEndpoint.objects.get().failing_since is not None
