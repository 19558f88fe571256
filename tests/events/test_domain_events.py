"""Business changes write their events in their own transactions, as REST renders the object; the
webhook fan-out happens later, in the relay (dispatch_pending), never in the change's transaction."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.services import customer_create, customer_kyc_update, customer_update
from core.events import dispatch_pending
from core.models import Event, OutboxMessage
from payments.services import payment_cancel, payment_capture, payment_create, refund_create
from subscriptions import services as subscriptions
from tests.adminurls import admin_url
from tests.factories import CustomerFactory
from tests.statements import written
from webhooks.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db


def _types(since=None) -> list[str]:
    rows = Event.objects.order_by("created", "pk")
    return [e.type for e in rows if since is None or e.pk not in since]


def _seen() -> set[str]:
    return set(Event.objects.values_list("pk", flat=True))


def _card(actor, customer, **kwargs):
    return payment_create(actor=actor, customer_id=customer.pk, amount=1_000, currency="USD", method="card",
                          payment_method=kwargs.pop("token", "tok_visa"), **kwargs)


def test_a_transfer_writes_one_event_as_rest_renders_it_and_fans_out_only_in_the_relay(api, make_wallet):
    source, target = make_wallet(balance=10_000), make_wallet()
    endpoint = WebhookEndpoint.objects.create(url="https://hooks.example.com/x", enabled_events=["*"],
                                              secret="whsec_test", created=source.created, updated=source.created)
    before = _seen()
    with CaptureQueriesContext(connection) as queries:
        response = api.post("/api/v1/transfers", {"from_wallet_id": source.pk, "to_wallet_id": target.pk,
                                                  "amount": "2.50", "currency": "USD"}, format="json")
    assert response.status_code == 201
    # One statement writes the event (with the audit event on PostgreSQL: core.heldrows).
    assert sum(written(q["sql"]).count("core_event") for q in queries.captured_queries) == 1
    assert not any("webhooks_" in q["sql"] for q in queries.captured_queries)
    [event] = Event.objects.exclude(pk__in=before)
    assert (event.type, event.object_id, event.data["object"]) == (
        "wallet.transfer.created", response.json()["id"], response.json())
    assert WebhookDelivery.objects.count() == 0
    assert dispatch_pending() == len(_seen())  # every undispatched event, the wallets' own included
    assert list(WebhookDelivery.objects.filter(event=event).values_list("endpoint_id", flat=True)) == [endpoint.pk]
    assert dispatch_pending() == 0


def test_payment_lifecycle_events(actor, customer, one_sandbox):
    before = _seen()
    paid = _card(actor, customer)
    assert _types(before) == ["payment.created", "payment.succeeded"]
    before = _seen()
    held = _card(actor, customer, capture_method="manual")
    payment_capture(actor=actor, payment_id=held.pk)
    assert _types(before) == ["payment.created", "payment.succeeded", "payment.captured"]
    before = _seen()
    other = _card(actor, customer, capture_method="manual")
    payment_cancel(actor=actor, payment_id=other.pk)
    assert _types(before) == ["payment.created", "payment.succeeded", "payment.canceled"]
    before = _seen()
    _card(actor, customer, token="tok_decline_generic")
    assert _types(before) == ["payment.created", "payment.failed"]
    before = _seen()
    refund_create(actor=actor, payment_id=paid.pk, amount=100)
    assert _types(before) == ["refund.created", "refund.succeeded"]
    refunded = Event.objects.get(type="refund.succeeded")
    assert (refunded.data["object"]["payment_id"], refunded.data["object"]["amount"]) == (paid.pk, "1.00")


def test_a_blocked_payment_is_created_and_failed(actor, one_sandbox):
    blocked = CustomerFactory(status="blocked")
    _card(actor, blocked)
    assert _types() == ["payment.created", "payment.failed"]
    assert Event.objects.get(type="payment.failed").data["object"]["status"] == "failed"


def test_customer_events_carry_previous_attributes(actor):
    customer = customer_create(actor=actor, email="a@example.com", name="Ann")
    customer_update(actor=actor, customer_id=customer.pk, name="Anne")
    customer_kyc_update(actor=actor, customer_id=customer.pk, kyc_status="verified", note="checked")
    customer_kyc_update(actor=actor, customer_id=customer.pk, kyc_status="verified", note="again")  # no change
    assert _types() == ["customer.created", "customer.updated", "customer.kyc_updated"]
    updated = Event.objects.get(type="customer.updated")
    previous = updated.data["previous_attributes"]
    assert (updated.data["object"]["name"], previous["name"], sorted(previous)) == ("Anne", "Ann", ["name", "updated"])
    kyc = Event.objects.get(type="customer.kyc_updated")
    assert sorted(kyc.data["previous_attributes"].items())[0] == ("kyc_status", "unverified")


def test_a_refused_kyc_status_changes_nothing(actor, customer):
    from core.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        customer_kyc_update(actor=actor, customer_id=customer.pk, kyc_status="approved-ish", note="x")
    customer.refresh_from_db()
    assert (customer.kyc_status, Event.objects.count()) == ("verified", 0)


def test_a_subscription_and_its_first_invoice(actor, customer, one_sandbox):
    plan = subscriptions.plan_create(actor=actor, name="Pro", amount=3000, currency="USD", interval="month")
    sub = subscriptions.subscription_create(actor=actor, customer_id=customer.pk, plan_id=plan.pk,
                                            payment_method="tok_visa")
    types = [t for t in _types() if not t.startswith("payment.")]
    assert types == ["subscription.created", "invoice.created", "invoice.finalized", "invoice.paid",
                     "subscription.updated"]
    paid = Event.objects.get(type="invoice.paid")
    assert (paid.data["object"]["subscription_id"], paid.data["object"]["status"],
            [line["amount"] for line in paid.data["object"]["lines"]]) == (sub.pk, "paid", ["30.00"])


def test_staff_see_events_in_the_admin_and_cannot_change_them(staff_client, actor):
    customer = customer_create(actor=actor, email="shown@example.com", name="Shown")
    event = Event.objects.get(type="customer.created")
    client = staff_client("auditor")
    listing = client.get("/admin/core/event/?type=customer.created").content.decode()
    assert event.pk in listing and "customer.created" in listing
    page = client.get(admin_url(event)).content.decode()
    assert customer.pk in page and "shown@example.com" in page
    assert client.post(admin_url(event), {"type": "x"}).status_code == 403
    assert Event.objects.get(pk=event.pk).type == "customer.created"


def test_the_fan_out_inserts_a_batchs_deliveries_and_their_outbox_rows_in_one_statement_each(actor):
    now = CustomerFactory().created
    everything, customers, payments = (
        WebhookEndpoint.objects.create(url=f"https://hooks.example.com/{n}", enabled_events=wanted,
                                       secret="whsec_test", created=now, updated=now)
        for n, wanted in enumerate([["*"], ["customer.created"], ["payment.created"]]))
    dispatch_pending()
    before = _seen()
    made = [customer_create(actor=actor, email=f"c{n}@example.com", name=f"C{n}") for n in range(3)]
    with CaptureQueriesContext(connection) as queries:
        assert dispatch_pending() == len(_seen() - before)
    inserts = [q["sql"].split(" ")[2] for q in queries.captured_queries if q["sql"].startswith("INSERT INTO")]
    assert sorted(inserts) == ['"core_outboxmessage"', '"webhooks_webhookdelivery"']
    created = Event.objects.filter(type="customer.created", object_id__in=[c.pk for c in made])
    assert sorted(WebhookDelivery.objects.filter(event__in=created).values_list("endpoint_id", flat=True)) == sorted(
        [everything.pk, customers.pk] * 3)
    assert not WebhookDelivery.objects.filter(endpoint=payments).exists()
    assert sorted(tuple(m.args) for m in OutboxMessage.objects.filter(task="webhooks.deliver")) == sorted(
        (d.pk, d.token) for d in WebhookDelivery.objects.all())
