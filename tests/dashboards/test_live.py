"""Live dashboards: the WebSocket feed (verified staff only, fed from the event table) and `?format=json`."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.db.models import Sum
from django.test import Client

from config.asgi import application
from core import clock
from core.models import Event
from monitoring import live
from wallets.models import Wallet

pytestmark = pytest.mark.django_db
# The consumer's and the poller's database calls (database_sync_to_async) close the connection they ran on, as
# after a request: the WebSocket tests commit instead of running in the test's transaction.
websocket = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fast_poll(settings):
    settings.DASHBOARD_LIVE_POLL_SECONDS = 0.05


def communicator(client: Client | None) -> WebsocketCommunicator:
    headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
    if client is not None:
        cookie = client.cookies[django_settings.SESSION_COOKIE_NAME].value
        headers.append((b"cookie", f"{django_settings.SESSION_COOKIE_NAME}={cookie}".encode()))
    return WebsocketCommunicator(application, "/ws/dashboard/", headers=headers)


def open_and_close(client: Client | None) -> dict:
    async def run():
        comm = communicator(client)
        connected, _ = await comm.connect(timeout=5)
        assert connected  # accepted, then closed: so a browser sees the 4403
        closing = await comm.receive_output(timeout=5)
        await comm.wait()
        return closing

    return async_to_sync(run)()


@websocket
def test_anonymous_is_refused_with_4403():
    assert open_and_close(None) == {"type": "websocket.close", "code": 4403}
    assert live.poller_count() == 0


@websocket
def test_staff_without_the_second_factor_is_refused(make_staff):
    user = make_staff(role="admin")
    client = Client()
    client.force_login(user)  # password only: no verified device in the session
    assert open_and_close(client) == {"type": "websocket.close", "code": 4403}


@websocket
def test_a_device_of_another_user_or_unconfirmed_does_not_verify(make_staff, verified_client):
    from accounts.models import StaffTOTPDevice

    user, other = make_staff(role="admin"), make_staff(role="admin")
    other_device = StaffTOTPDevice.objects.create(user=other, name="other", confirmed=True)
    assert open_and_close(verified_client(user, other_device)) == {"type": "websocket.close", "code": 4403}
    unconfirmed = StaffTOTPDevice.objects.create(user=user, name="new", confirmed=False)
    assert open_and_close(verified_client(user, unconfirmed)) == {"type": "websocket.close", "code": 4403}


@websocket
@pytest.mark.parametrize("flag", ["is_staff", "is_active"])
def test_inactive_or_non_staff_is_refused(staff_client, flag):
    client = staff_client("admin")
    setattr(client.user, flag, False)
    client.user.save(update_fields=[flag])
    assert open_and_close(client) == {"type": "websocket.close", "code": 4403}


def write_event(type_: str, object_id: str) -> Event:
    return Event.objects.create(type=type_, created=clock.now(), object_type="tests.object", object_id=object_id,
                                data={"object": {"id": object_id}}, actor_type="system", actor_id="tests",
                                actor_label="tests")


@websocket
def test_staff_receive_only_the_types_their_permissions_let_them_view(staff_client):
    client = staff_client("support")  # may view customers and payments, not alerts
    assert not client.user.has_perm("monitoring.view_alert") and client.user.has_perm("accounts.view_customer")

    async def run():
        comm = communicator(client)
        connected, _ = await comm.connect(timeout=5)
        assert connected
        await sync_to_async(write_event)("alert.created", "alrt_hidden")
        await sync_to_async(write_event)("customer.created", "cus_shown")
        received = await comm.receive_json_from(timeout=5)
        assert await comm.receive_nothing(timeout=0.5)
        await comm.disconnect()
        return received

    received = async_to_sync(run)()
    assert (received["event"]["type"], received["event"]["object_id"]) == ("customer.created", "cus_shown")


@websocket
def test_verified_staff_receive_a_new_payment_and_nothing_else(staff_client, api, customer, one_sandbox):
    client = staff_client("admin")
    write_event("payment.created", "pay_before")  # written before connecting: never sent
    before = Event.objects.count()
    assert before > 0

    def create_payment():
        response = api.post(
            "/api/v1/payments",
            {
                "amount": "25.00",
                "currency": "USD",
                "customer_id": customer.id,
                "method": "card",
                "payment_method": "tok_visa",
            },
            format="json",
        )
        assert response.status_code == 201, response.content
        return response.json()

    async def run():
        comm = communicator(client)
        connected, _ = await comm.connect(timeout=5)
        assert connected
        assert live.poller_count() == 1
        assert await comm.receive_nothing(timeout=0.3)  # events written before connecting are not replayed
        payment = await sync_to_async(create_payment)()
        messages = []
        while len(messages) < 2:
            messages.append(await comm.receive_json_from(timeout=5))
        while not await comm.receive_nothing(timeout=0.5):
            messages.append(await comm.receive_json_from(timeout=5))
        await comm.disconnect()
        await asyncio.sleep(0)
        return payment, messages

    payment, messages = async_to_sync(run)()
    assert live.poller_count() == 0  # the poller stops with its last consumer
    events = list(Event.objects.filter(object_id=payment["id"]).order_by("created", "id"))
    assert Event.objects.count() > before
    # Every live event the payment wrote, once, in order, and nothing else (not the one written before).
    live_events = [e for e in events if e.type in live.live_types()]
    assert len(live_events) >= 2
    assert [m["type"] for m in messages] == ["event"] * len(live_events)
    assert [m["event"]["id"] for m in messages] == [e.pk for e in live_events]
    first = messages[0]["event"]
    assert first == {
        "id": events[0].pk,
        "type": "payment.created",
        "created": clock.isoformat(events[0].created),
        "object_id": payment["id"],
        "summary": f"payment.created 25.00 USD {events[0].data['object']['status']}",
    }
    # No personal data: ids, types and the amount only.
    assert customer.email not in str(messages)


def test_format_json_tiles_and_charts_match_the_database(staff_client, make_wallet):
    make_wallet("USD", balance=12_345)
    make_wallet("USD", balance=655)
    make_wallet("EUR", balance=1_000)
    client = staff_client("admin")
    response = client.get("/admin/dashboards/wallets/?format=json")
    assert response.status_code == 200
    data = response.json()
    for currency in ("USD", "EUR"):
        expected = Wallet.objects.filter(currency=currency).aggregate(s=Sum("account__balance"))["s"]
        assert data["tiles"][f"balance_{currency.lower()}"]["value"] == str(expected)
    assert data["tiles"]["balance_usd"]["text"] == "130.00 USD"
    html = client.get("/admin/dashboards/wallets/")
    assert list(data["charts"]) == [c["chart"].name for c in html.context["charts"]]
    assert data["generated_at"].endswith("Z")


def test_format_json_serves_the_overview_but_its_html_stays_the_admin_home(staff_client, make_wallet):
    make_wallet("EUR", balance=4_200)
    client = staff_client("admin")
    data = client.get("/admin/dashboards/overview/?format=json").json()
    assert set(data) == {"tiles", "charts", "generated_at"}
    overview = client.get("/admin/").context["overview"]
    assert data["tiles"] == {tile.key: tile.live() for section in overview.sections for tile in section.tiles}
    assert data["tiles"] and all(tile["text"] for tile in data["tiles"].values())
    assert client.get("/admin/dashboards/overview/").status_code == 404


def test_format_json_refuses_a_bad_period_and_anonymous(staff_client):
    client = staff_client("admin")
    response = client.get("/admin/dashboards/wallets/?format=json&from=2026-13-01")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_period"
    anonymous = Client().get("/admin/dashboards/wallets/?format=json")
    assert anonymous.status_code == 302


def test_pages_point_to_the_feed_only_when_served_over_asgi_or_told_to(staff_client, settings):
    from django.test import AsyncRequestFactory, RequestFactory

    from monitoring.dashboards.views import live_url

    assert live_url(AsyncRequestFactory().get("/admin/")) == "/ws/dashboard/"
    assert live_url(RequestFactory().get("/admin/")) == ""
    # The test client is WSGI: no socket that could only fail (the browser test runs Daphne and sees it).
    client = staff_client("admin")
    for path in ("/admin/", "/admin/dashboards/wallets/"):
        html = client.get(path).content.decode()
        assert "data-dashboard=" in html and "data-live-url" not in html
    # docker-compose: granian serves the pages, a proxy routes /ws/ to the ws service (Daphne).
    settings.DASHBOARD_LIVE_WEBSOCKET = True
    assert 'data-live-url="/ws/dashboard/"' in client.get("/admin/dashboards/wallets/").content.decode()
    settings.DASHBOARD_LIVE_WEBSOCKET = False
    assert live_url(AsyncRequestFactory().get("/admin/")) == ""
