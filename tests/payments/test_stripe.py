import hashlib
import hmac
import json
import socket
import time

import pytest

from payments.models import Payment, WebhookEvent
from payments.services import payment_capture, payment_create, payment_verify, refund_create
from wallets.models import JournalEntry

from .stripe_fake import FakeStripe

pytestmark = pytest.mark.django_db
SECRET = "whsec_test_secret"


@pytest.fixture
def fake():
    server = FakeStripe(slow_seconds=1.5).start()
    yield server
    server.stop()


@pytest.fixture
def stripe_only(settings, fake):
    settings.PAYMENTS_PROVIDERS = {"stripe": {"type": "stripe", "api_key": "sk_test_fake", "api_base": fake.url,
                                              "webhook_secret": SECRET, "timeout": 1}}
    return fake


def create(actor, customer, token="pm_card_visa", amount=2_000, **kw):
    return payment_create(actor=actor, customer_id=customer.id, amount=amount, currency="USD", method="card",
                          payment_method=token, **kw)


def test_automatic_payment_through_the_sdk(actor, customer, stripe_only):
    payment = create(actor, customer)
    assert (payment.status, payment.amount_captured, payment.provider) == ("succeeded", 2_000, "stripe")
    intent = stripe_only.intents[payment.provider_reference]
    assert intent["metadata"] == {"payment_id": payment.id, "attempt_id": payment.attempts.get().id}
    method, path, params = stripe_only.requests[0]
    assert (method, path, params["confirm"], params["currency"]) == ("POST", "/v1/payment_intents", "true", "usd")
    assert JournalEntry.objects.filter(kind="payment_capture").count() == 1


def test_decline_through_the_sdk(actor, customer, stripe_only):
    payment = create(actor, customer, token="pm_card_chargeDeclinedInsufficientFunds")
    assert (payment.status, payment.failure_code) == ("failed", "insufficient_funds")
    assert payment.attempts.get().status == "declined"


def test_manual_capture_and_refunds_through_the_sdk(actor, customer, stripe_only):
    payment = create(actor, customer, capture_method="manual")
    assert (payment.status, payment.amount_capturable) == ("requires_capture", 2_000)
    captured = payment_capture(actor=actor, payment_id=payment.id, amount=1_500)
    assert (captured.status, captured.amount_captured) == ("succeeded", 1_500)
    assert stripe_only.intents[payment.provider_reference]["amount_received"] == 1_500
    refund = refund_create(actor=actor, payment_id=payment.id, amount=500, reason="requested_by_customer")
    assert (refund.status, refund.provider_reference[:3]) == ("succeeded", "re_")
    assert stripe_only.refunds[refund.provider_reference]["metadata"] == {"refund_id": refund.id}


def test_read_timeout_is_unknown_and_verify_does_not_charge_twice(actor, customer, stripe_only):
    payment = create(actor, customer, token="pm_slow")
    assert payment.status == "unknown"
    assert len(stripe_only.intents) == 1
    settled = payment_verify(actor=actor, payment_id=payment.id)
    assert (settled.status, settled.amount_captured) == ("succeeded", 2_000)
    assert len(stripe_only.intents) == 1  # the replayed create returned the same intent
    assert settled.provider_reference == next(iter(stripe_only.intents))


def test_unreadable_answer_is_unknown_and_a_replay_does_not_charge_again(api, customer, stripe_only):
    body = {"amount": "20.00", "currency": "USD", "customer_id": customer.id, "payment_method": "pm_garbage"}
    first = api.post("/api/v1/payments", body, format="json", HTTP_IDEMPOTENCY_KEY="garbage-1")
    assert (first.status_code, first.json()["status"]) == (201, "unknown")
    again = api.post("/api/v1/payments", body, format="json", HTTP_IDEMPOTENCY_KEY="garbage-1")
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert len(stripe_only.intents) == 1 and Payment.objects.count() == 1


def test_unreachable_stripe_fails_over_to_sandbox(settings, actor, customer):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    settings.PAYMENTS_PROVIDERS = {
        "stripe": {"type": "stripe", "api_key": "sk_test_fake", "api_base": f"http://127.0.0.1:{closed_port}"},
        "sandbox": {"type": "sandbox"},
    }
    from core import clock
    from payments.models import RoutingRule
    RoutingRule.objects.create(name="stripe first", allowed_providers=["stripe", "sandbox"], learning=False,
                               created=clock.now(), updated=clock.now())
    payment = create(actor, customer, token="tok_visa")
    assert (payment.status, payment.provider) == ("succeeded", "sandbox")
    assert list(payment.attempts.values_list("provider", "status")) == [("stripe", "unreachable"),
                                                                        ("sandbox", "captured")]


# --- webhooks ---------------------------------------------------------------------------


def sign(payload: bytes, secret=SECRET, timestamp=None):
    t = int(timestamp if timestamp is not None else time.time())
    sig = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={sig}"


def event(event_id, type_, obj):
    return json.dumps({"id": event_id, "object": "event", "type": type_, "created": int(time.time()),
                       "data": {"object": obj}}).encode()


def post(client, payload, signature):
    return client.post("/webhooks/stripe/", data=payload, content_type="application/json",
                       HTTP_STRIPE_SIGNATURE=signature)


@pytest.fixture
def unknown_payment(actor, customer, stripe_only):
    payment = create(actor, customer, token="pm_slow")
    assert payment.status == "unknown"
    return payment, stripe_only.intents[next(iter(stripe_only.intents))]


def test_webhook_good_signature_settles_payment(client, unknown_payment):
    payment, intent = unknown_payment
    payload = event("evt_1", "payment_intent.succeeded", intent)
    response = post(client, payload, sign(payload))
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["duplicate"]) == ("processed", False)
    payment.refresh_from_db()
    assert (payment.status, payment.amount_captured, payment.provider_reference) == ("succeeded", 2_000, intent["id"])
    stored = WebhookEvent.objects.get()
    assert (stored.provider_event_id, stored.payment_id, stored.status) == ("evt_1", payment.id, "processed")


@pytest.mark.parametrize("signature", [
    "t=123,v1=deadbeef",
    "garbage",
    "",
])
def test_webhook_bad_signature_is_refused_and_not_stored(client, unknown_payment, signature):
    payment, intent = unknown_payment
    payload = event("evt_bad", "payment_intent.succeeded", intent)
    response = post(client, payload, signature)
    assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_signature")
    assert WebhookEvent.objects.count() == 0
    assert Payment.objects.get(pk=payment.id).status == "unknown"


def test_webhook_wrong_secret_and_stale_timestamp_are_refused(client, unknown_payment):
    payment, intent = unknown_payment
    payload = event("evt_stale", "payment_intent.succeeded", intent)
    assert post(client, payload, sign(payload, secret="whsec_other")).status_code == 400
    assert post(client, payload, sign(payload, timestamp=time.time() - 301)).status_code == 400
    assert post(client, payload + b" ", sign(payload)).status_code == 400  # body altered after signing
    assert WebhookEvent.objects.count() == 0
    assert post(client, payload, sign(payload, timestamp=time.time() - 290)).status_code == 200


def test_webhook_replay_and_duplicates_apply_once(client, unknown_payment):
    payment, intent = unknown_payment
    payload = event("evt_dup", "payment_intent.succeeded", intent)
    first = post(client, payload, sign(payload))
    replay = post(client, payload, sign(payload))
    assert first.status_code == replay.status_code == 200
    assert replay.json() == {**first.json(), "duplicate": True}
    assert WebhookEvent.objects.count() == 1
    assert JournalEntry.objects.filter(kind="payment_capture").count() == 1
    # The same change under a new event id (Stripe may send several) is still applied once.
    again = event("evt_dup2", "payment_intent.succeeded", intent)
    assert post(client, again, sign(again)).json()["status"] == "processed"
    assert JournalEntry.objects.filter(kind="payment_capture").count() == 1
    assert Payment.objects.get(pk=payment.id).amount_captured == 2_000


def test_webhooks_out_of_order_leave_the_final_state(client, actor, customer, stripe_only):
    payment = create(actor, customer, token="pm_slow", capture_method="manual")
    intent = dict(stripe_only.intents[next(iter(stripe_only.intents))])
    authorised = dict(intent, status="requires_capture", amount_capturable=2_000)
    succeeded = dict(intent, status="succeeded", amount_capturable=0, amount_received=2_000)
    later = event("evt_b", "payment_intent.succeeded", succeeded)
    earlier = event("evt_a", "payment_intent.amount_capturable_updated", authorised)
    assert post(client, later, sign(later)).status_code == 200
    assert post(client, earlier, sign(earlier)).status_code == 200
    payment.refresh_from_db()
    assert (payment.status, payment.amount_captured, payment.amount_capturable) == ("succeeded", 2_000, 0)
    canceled = event("evt_c", "payment_intent.canceled", dict(intent, status="canceled"))
    assert post(client, canceled, sign(canceled)).status_code == 200
    assert Payment.objects.get(pk=payment.id).status == "succeeded"


def test_failed_application_stays_retryable(client, actor, customer, stripe_only):
    """A top-up settled by webhook while its wallet is frozen cannot be credited: the event is
    kept as failed, and applies once the wallet is unfrozen."""
    from payments.services import webhooks
    from wallets import ledger
    from wallets.services import wallet_create, wallet_freeze, wallet_unfreeze

    wallet = wallet_create(actor=actor, customer_id=customer.id, currency="USD")
    payment = create(actor, customer, token="pm_slow", wallet_id=wallet.id)
    assert payment.status == "unknown"
    intent = stripe_only.intents[next(iter(stripe_only.intents))]
    wallet_freeze(actor=actor, wallet_id=wallet.id, reason="test")
    payload = event("evt_retry", "payment_intent.succeeded", intent)
    response = post(client, payload, sign(payload))
    assert (response.status_code, response.json()["status"]) == (200, "failed")
    stored = WebhookEvent.objects.get()
    assert (stored.status, stored.attempts) == ("failed", 1) and "frozen" in stored.last_error
    assert Payment.objects.get(pk=payment.id).status == "unknown"
    assert ledger.account_balance(wallet.account) == 0
    wallet_unfreeze(actor=actor, wallet_id=wallet.id, reason="test")
    assert webhooks.webhook_retry_failed(actor=actor) == 1
    stored.refresh_from_db()
    assert (stored.status, stored.attempts, stored.last_error) == ("processed", 2, "")
    assert Payment.objects.get(pk=payment.id).status == "succeeded"
    assert ledger.account_balance(wallet.account) == 2_000


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)  # the constraint is added and dropped outside any transaction
def test_a_capture_whose_held_statement_fails_leaves_the_event_failed_and_nothing_else(client, actor, unknown_payment):
    """The capture's ledger write, payment update, audit event and event go in one statement (core.heldrows); a
    database refusal of it (here a real CHECK constraint on the payment) is undone with the application's atomic
    block, the event is kept as failed with the reason, and a retry applies it once the cause is gone."""
    from django.db import connection

    from core.models import AuditEvent
    from payments.services import webhooks

    payment, intent = unknown_payment
    assert payment.id.replace("_", "").isalnum()  # a literal in the DDL, which takes no parameters
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE payments_payment ADD CONSTRAINT test_refused_capture "
                       f"CHECK (status <> 'succeeded' OR id <> '{payment.id}')")
    try:
        entries, audits = JournalEntry.objects.count(), AuditEvent.objects.count()
        payload = event("evt_refused", "payment_intent.succeeded", intent)
        response = post(client, payload, sign(payload))
        assert (response.status_code, response.json()["status"]) == (200, "failed")
        stored = WebhookEvent.objects.get()
        assert stored.status == "failed" and "test_refused_capture" in stored.last_error
        assert Payment.objects.get(pk=payment.id).status == "unknown"
        assert JournalEntry.objects.count() == entries
        assert AuditEvent.objects.count() == audits + 1  # the event's own "failed" audit, nothing of the capture
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE payments_payment DROP CONSTRAINT test_refused_capture")
    assert webhooks.webhook_retry_failed(actor=actor) == 1
    assert Payment.objects.get(pk=payment.id).status == "succeeded"
    assert JournalEntry.objects.count() == entries + 1


def test_refund_timeout_stays_pending_until_its_webhook(client, actor, customer, stripe_only):
    payment = create(actor, customer, amount=3_000)
    stripe_only.slow_refunds = True
    refund = refund_create(actor=actor, payment_id=payment.id, amount=1_000, reason="requested_by_customer")
    assert refund.status == "pending"
    payment.refresh_from_db()
    assert payment.amount_refunded == 1_000  # reserved while its outcome is unknown
    assert JournalEntry.objects.filter(kind="payment_refund").count() == 0
    stripe_refund = next(iter(stripe_only.refunds.values()))
    payload = event("evt_re", "refund.updated", stripe_refund)
    assert post(client, payload, sign(payload)).json()["status"] == "processed"
    refund.refresh_from_db()
    assert (refund.status, refund.provider_reference) == ("succeeded", stripe_refund["id"])
    assert JournalEntry.objects.filter(kind="payment_refund").count() == 1
    again = event("evt_re2", "refund.updated", stripe_refund)
    post(client, again, sign(again))
    assert JournalEntry.objects.filter(kind="payment_refund").count() == 1


def test_verify_and_reconcile_read_the_intent(actor, customer, stripe_only):
    from payments.services.reconciliation import reconciliation_run

    payment = create(actor, customer, capture_method="manual")
    assert payment_verify(actor=actor, payment_id=payment.id).status == "requires_capture"
    assert stripe_only.requests[-1][:2] == ("GET", f"/v1/payment_intents/{payment.provider_reference}")
    assert reconciliation_run(actor=actor) == 0
    # Stripe captured it without telling us (e.g. from its dashboard): verify catches up.
    stripe_only.intents[payment.provider_reference].update(status="succeeded", amount_capturable=0,
                                                           amount_received=2_000)
    from payments.models import ReconciliationMismatch
    assert reconciliation_run(actor=actor) == 1
    assert ReconciliationMismatch.objects.get().kind == "status_mismatch"
    settled = payment_verify(actor=actor, payment_id=payment.id)
    assert (settled.status, settled.amount_captured) == ("succeeded", 2_000)
    assert JournalEntry.objects.filter(kind="payment_capture").count() == 1


def test_capture_of_an_intent_canceled_at_stripe_follows_stripe(actor, customer, stripe_only):
    payment = create(actor, customer, capture_method="manual")
    stripe_only.intents[payment.provider_reference].update(status="canceled", amount_capturable=0)
    result = payment_capture(actor=actor, payment_id=payment.id)
    assert (result.status, result.amount_captured, result.cancellation_reason) == ("canceled", 0, "provider")
    assert JournalEntry.objects.filter(kind="payment_capture").count() == 0


def test_capture_when_stripe_is_unreachable_changes_nothing(settings, actor, customer, stripe_only):
    from core.errors import ServiceUnavailable

    payment = create(actor, customer, capture_method="manual")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    settings.PAYMENTS_PROVIDERS = {"stripe": {**settings.PAYMENTS_PROVIDERS["stripe"],
                                              "api_base": f"http://127.0.0.1:{closed_port}"}}
    with pytest.raises(ServiceUnavailable):
        payment_capture(actor=actor, payment_id=payment.id)
    payment.refresh_from_db()
    assert (payment.status, payment.amount_capturable, payment.amount_captured) == ("requires_capture", 2_000, 0)
