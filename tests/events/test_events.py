import datetime as dt

import pytest
from django.db import transaction

from core import clock
from core.context import Actor, bind_context
from core.events import UndeclaredEventType, emit, snapshot
from core.models import Event
from tests.factories import CustomerFactory
from tests.mcp.conftest import McpClient

from .declared import PaymentSideEvent, WalletSideEvent

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)


def _emit(type, obj, **kwargs):
    with transaction.atomic():
        return emit(type, obj, **kwargs)


@pytest.mark.django_db(transaction=True)
def test_emit_outside_a_transaction_is_refused_and_writes_nothing():
    customer = CustomerFactory()
    with pytest.raises(RuntimeError, match="inside a transaction"):
        emit(PaymentSideEvent.POKED, customer)
    assert Event.objects.count() == 0


def test_an_undeclared_type_is_refused_and_writes_nothing():
    customer = CustomerFactory()
    with pytest.raises(UndeclaredEventType), transaction.atomic():
        emit("payment.poked", customer)
    assert Event.objects.count() == 0


def test_event_carries_the_object_as_rest_renders_it_with_previous_attributes(api):
    customer = CustomerFactory(name="Before", country="US")
    before = snapshot(customer)
    customer.name = "After"
    customer.save()
    bind_context(request_id="req_test_123456")
    with clock.frozen_at(T0):
        event = _emit(PaymentSideEvent.POKED, customer, previous=before, actor=Actor.system("tests"))
    rest = api.get(f"/api/v1/customers/{customer.pk}").json()
    assert event.data == {"object": rest, "previous_attributes": {"name": "Before"}}
    got = api.get(f"/api/v1/events/{event.pk}").json()
    assert got == {"id": event.pk, "object": "event", "type": "test.customer_poked", "created": "2026-05-01T12:00:00Z",
                   "data": {"object": rest, "previous_attributes": {"name": "Before"}},
                   "request": {"id": "req_test_123456"}, "actor": {"type": "system", "id": "tests", "label": "tests"}}


def test_list_filters_and_envelope(api):
    one, two = CustomerFactory(), CustomerFactory()
    with clock.frozen_at(T0):
        first = _emit(PaymentSideEvent.POKED, one)
    with clock.frozen_at(T0 + dt.timedelta(hours=1)):
        second = _emit(WalletSideEvent.NUDGED, one)
    with clock.frozen_at(T0 + dt.timedelta(hours=2)):
        third = _emit(PaymentSideEvent.POKED, two)

    def ids(**query):
        body = api.get("/api/v1/events", query).json()
        assert set(body) == {"data", "has_more", "next_cursor"}
        return [e["id"] for e in body["data"]]

    assert ids() == [third.pk, second.pk, first.pk]
    assert ids(type="test.customer_poked") == [third.pk, first.pk]
    assert ids(object_id=one.pk) == [second.pk, first.pk]
    assert ids(created_gte="2026-05-01T12:30:00Z", created_lte="2026-05-01T13:30:00Z") == [second.pk]
    page = api.get("/api/v1/events", {"limit": 2}).json()
    assert page["has_more"] is True
    rest = api.get("/api/v1/events", {"limit": 2, "cursor": page["next_cursor"]}).json()
    assert [e["id"] for e in rest["data"]] == [first.pk]


def test_a_key_sees_only_events_whose_object_it_could_read(client_for):
    customer = CustomerFactory()
    paid = _emit(PaymentSideEvent.POKED, customer)
    walleted = _emit(WalletSideEvent.NUDGED, customer)
    payments_only = client_for("events:read,payments:read")
    assert [e["id"] for e in payments_only.get("/api/v1/events").json()["data"]] == [paid.pk]
    response = payments_only.get(f"/api/v1/events/{walleted.pk}")
    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")
    events_only = client_for("events:read")
    assert events_only.get("/api/v1/events").json()["data"] == []
    no_events = client_for("payments:read")
    response = no_events.get("/api/v1/events")
    assert (response.status_code, response.json()["error"]["code"]) == (403, "insufficient_scope")


def test_support_role_without_wallet_permission_sees_no_wallet_side_events(client_for):
    customer = CustomerFactory()
    _emit(PaymentSideEvent.POKED, customer)
    # support may view customers but not core events: the operation's permission refuses.
    response = client_for("*", role="support").get("/api/v1/events")
    assert (response.status_code, response.json()["error"]["code"]) == (403, "permission_denied")


def test_mcp_list_and_get_event(make_key):
    customer = CustomerFactory()
    paid = _emit(PaymentSideEvent.POKED, customer)
    _emit(WalletSideEvent.NUDGED, customer)
    created = make_key("events:read,payments:read")
    mcp = McpClient(created.raw_key)
    listed = mcp.ok("list_events", {})
    assert [e["id"] for e in listed["data"]] == [paid.pk]
    assert mcp.ok("get_event", {"event_id": paid.pk})["data"]["object"]["id"] == customer.pk


def test_purge_deletes_events_past_retention(settings):
    from core.tasks import purge_events

    settings.EVENT_RETENTION_DAYS = 30
    customer = CustomerFactory()
    with clock.frozen_at(T0 - dt.timedelta(days=31)):
        _emit(PaymentSideEvent.POKED, customer)
    with clock.frozen_at(T0 - dt.timedelta(days=29)):
        kept = _emit(PaymentSideEvent.POKED, customer)
    with clock.frozen_at(T0):
        assert purge_events() == 1
    assert list(Event.objects.values_list("pk", flat=True)) == [kept.pk]


def test_purge_is_scheduled_daily():
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(task="core.purge_events")
    assert (task.enabled, task.interval.every, task.interval.period) == (True, 1, "days")


def test_the_event_list_in_docs_is_current():
    from core.management.commands.events_doc import DOC, render

    assert DOC.read_text() == render(), "docs/EVENTS.md is stale: run `make docs`"
