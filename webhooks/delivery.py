"""One attempt of a webhook delivery, run by the `webhooks.deliver` task (from the outbox).

1. In a transaction: take the delivery if this message's token is still its token (a copy the broker
   sent twice, or a replaced retry, finds it changed and stops), count the attempt and schedule the
   next one in the outbox *before* sending, so a worker killed mid-request is retried all the same.
2. Send, outside any transaction: the checked address only (`targets.resolve`), 10 s timeout,
   signed (Standard Webhooks), no redirects. 2xx is success, anything else a failure.
3. In a transaction: log the attempt (status, latency, the first 1 KB of the answer, next retry); on
   success cancel the scheduled retry; after the retry window give up, and disable an endpoint that
   has failed for the whole window (audited).

Retries wait `backoff(n)`: exponential from WEBHOOK_RETRY_BASE_SECONDS, capped at
WEBHOOK_RETRY_MAX_SECONDS, plus up to 25% jitter so endpoints that fail together do not retry together.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import time
from dataclasses import dataclass

import urllib3
from django.conf import settings
from django.db import transaction

from core import clock
from core.audit import audit_record
from core.context import Actor
from core.events import event_payload
from core.ids import random_chars
from core.models import touch
from core.outbox import cancel, enqueue

from . import signing, targets
from .audit import WebhooksAction
from .errors import InvalidWebhookUrl, WebhookTargetRefused
from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from .services import DELIVER_TASK, retry_window

logger = logging.getLogger("webhooks.delivery")
RESPONSE_KEEP = 1024
JITTER = 0.25
_random = random.SystemRandom()


def backoff(attempt: int) -> dt.timedelta:
    base = min(settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** (attempt - 1), settings.WEBHOOK_RETRY_MAX_SECONDS)
    return dt.timedelta(seconds=base * (1 + _random.uniform(0, JITTER)))


@dataclass(frozen=True)
class Plan:
    delivery_id: str
    attempt: int
    url: str
    secrets: list[str]
    msg_id: str
    body: bytes
    retry_at: dt.datetime


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    latency_ms: int
    body: str
    error: str

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def attempt_delivery(delivery_id: str, token: str) -> bool | None:
    """Runs one attempt; True/False for its success, None when this message is stale."""
    plan = _begin(delivery_id, token)
    if plan is None:
        return None
    outcome = _send(plan)
    _finish(plan, outcome)
    return outcome.ok


def _begin(delivery_id: str, token: str) -> Plan | None:
    with transaction.atomic():
        delivery = (WebhookDelivery.objects.select_for_update().select_related("endpoint", "event")
                    .filter(pk=delivery_id).first())
        if delivery is None or delivery.status != WebhookDelivery.Status.PENDING or delivery.token != token:
            return None
        now = clock.now()
        endpoint = delivery.endpoint
        if not endpoint.enabled:
            delivery.status, delivery.next_attempt_at, delivery.token = WebhookDelivery.Status.FAILED, None, ""
            touch(delivery, "status", "next_attempt_at", "token")
            return None
        attempt = delivery.attempts + 1
        retry_at = now + backoff(attempt)
        delivery.attempts, delivery.token, delivery.next_attempt_at = attempt, random_chars(24), retry_at
        delivery.retry_message_id = enqueue(DELIVER_TASK, delivery.pk, delivery.token, at=retry_at).pk
        touch(delivery, "attempts", "token", "next_attempt_at", "retry_message_id")
        secrets = [endpoint.secret]
        if endpoint.previous_secret and endpoint.previous_secret_expires_at and \
                endpoint.previous_secret_expires_at > now:
            secrets.append(endpoint.previous_secret)
        body = json.dumps(event_payload(delivery.event), separators=(",", ":")).encode()
        return Plan(delivery.pk, attempt, endpoint.url, secrets, delivery.event_id, body, retry_at)


def _send(plan: Plan) -> Outcome:
    started = time.monotonic()
    try:
        target = targets.resolve(plan.url)
    except (InvalidWebhookUrl, WebhookTargetRefused) as exc:
        return Outcome(None, 0, "", f"{exc.code}: {exc.message}"[:300])
    headers = {"Content-Type": "application/json", "User-Agent": "payments-backoffice-webhooks/1",
               "Host": target.host if target.port in (80, 443) else f"{target.host}:{target.port}",
               **signing.headers(plan.secrets, plan.msg_id, int(clock.now().timestamp()), plan.body)}
    timeout = urllib3.Timeout(total=settings.WEBHOOK_TIMEOUT_SECONDS)
    if target.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(target.address, target.port, timeout=timeout, retries=False,
                                           server_hostname=target.host, assert_hostname=target.host,
                                           cert_reqs="CERT_REQUIRED")
    else:
        pool = urllib3.HTTPConnectionPool(target.address, target.port, timeout=timeout, retries=False)
    try:
        response = pool.urlopen("POST", target.path, body=plan.body, headers=headers, redirect=False,
                                preload_content=False, assert_same_host=False)
        try:
            text = response.read(RESPONSE_KEEP, decode_content=True).decode("utf-8", "replace")
        finally:
            response.release_conn()
        return Outcome(response.status, _ms(started), text, "")
    except urllib3.exceptions.HTTPError as exc:
        return Outcome(None, _ms(started), "", f"{type(exc).__name__}: {exc}"[:300])
    finally:
        pool.close()


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _finish(plan: Plan, outcome: Outcome) -> None:
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().select_related("endpoint").get(pk=plan.delivery_id)
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=delivery.endpoint_id)
        now = clock.now()
        final = outcome.ok or plan.retry_at > delivery.created + retry_window()
        WebhookAttempt.objects.create(
            delivery=delivery, endpoint=endpoint, event_id=delivery.event_id, number=plan.attempt, created=now,
            status_code=outcome.status_code, latency_ms=outcome.latency_ms, response_body=outcome.body,
            error=outcome.error, succeeded=outcome.ok, next_retry_at=None if final else plan.retry_at)
        if final:
            cancel(delivery.retry_message_id)
            delivery.status = WebhookDelivery.Status.SUCCEEDED if outcome.ok else WebhookDelivery.Status.FAILED
            delivery.next_attempt_at, delivery.token, delivery.retry_message_id = None, "", None
            touch(delivery, "status", "next_attempt_at", "token", "retry_message_id")
        if outcome.ok:
            if endpoint.failing_since is not None:
                endpoint.failing_since = None
                touch(endpoint, "failing_since")
            return
        if endpoint.failing_since is None:
            endpoint.failing_since = now
            touch(endpoint, "failing_since")
        elif endpoint.enabled and now - endpoint.failing_since >= retry_window():
            endpoint.enabled = False
            endpoint.disabled_reason = "Every delivery failed for 3 days."
            touch(endpoint, "enabled", "disabled_reason")
            audit_record(action=WebhooksAction.ENDPOINT_DISABLED, actor=Actor.for_task(DELIVER_TASK), obj=endpoint,
                         details={"failing_since": clock.isoformat(endpoint.failing_since),
                                  "last_delivery": delivery.pk})
            logger.warning("webhook endpoint disabled", extra={"endpoint_id": endpoint.pk})
