import datetime as dt

import pytest
from django.db import transaction

from core import clock
from core.audit import AuditEvent
from core.events import emit
from core.outbox import run_due_locally
from tests.events.declared import PaymentSideEvent
from tests.factories import CustomerFactory
from tests.mcp.conftest import McpClient
from webhooks.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)
PUBLIC = "https://93.184.216.34/hooks"  # an address literal: no DNS needed


def _emit(at=None):
    with clock.frozen_at(at or clock.now()), transaction.atomic():
        return emit(PaymentSideEvent.POKED, CustomerFactory())


def test_create_shows_the_secret_once_and_stores_it_encrypted(api):
    response = api.post("/api/v1/webhook-endpoints", {"url": PUBLIC, "description": "ERP"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["secret"].startswith("whsec_") and len(body["secret"]) == 6 + 44
    assert (body["url"], body["enabled_events"], body["enabled"], body["description"]) == (PUBLIC, ["*"], True, "ERP")
    got = api.get(f"/api/v1/webhook-endpoints/{body['id']}").json()
    assert "secret" not in got and got["id"] == body["id"]
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM webhooks_webhookendpoint")
        [(stored,)] = cursor.fetchall()
    assert stored.startswith("v1:") and body["secret"] not in stored
    assert WebhookEndpoint.objects.get().secret == body["secret"]
    assert AuditEvent.objects.filter(action="webhook_endpoint.created", object_id=body["id"]).count() == 1


@pytest.mark.parametrize("url", ["https://127.0.0.1/hook", "https://10.1.2.3/hook", "https://169.254.169.254/latest",
                                 "https://[::1]/hook", "https://localhost/hook", "https://[::ffff:127.0.0.1]/x",
                                 "https://0.0.0.0/x", "https://192.168.1.5/x"])
def test_private_loopback_and_metadata_targets_are_refused(api, url):
    response = api.post("/api/v1/webhook-endpoints", {"url": url}, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (422, "webhook_target_refused")
    assert WebhookEndpoint.objects.count() == 0


@pytest.mark.parametrize("url", ["http://93.184.216.34/hook", "ftp://93.184.216.34/x", "https:///nohost",
                                 "https://user:pw@93.184.216.34/x", "not a url"])
def test_only_https_urls(api, url):
    response = api.post("/api/v1/webhook-endpoints", {"url": url}, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (422, "invalid_webhook_url")
    assert WebhookEndpoint.objects.count() == 0


def test_plain_http_only_when_allowed(api, settings):
    settings.WEBHOOK_ALLOW_INSECURE = True
    assert api.post("/api/v1/webhook-endpoints", {"url": "http://93.184.216.34/h"}, format="json").status_code == 201


def test_unknown_or_unreadable_event_types_are_refused(api, client_for):
    response = api.post("/api/v1/webhook-endpoints", {"url": PUBLIC, "enabled_events": ["payment.exploded"]},
                        format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (422, "unknown_event_type")
    # A key that may not read payment events may not have them sent anywhere either.
    key = client_for("webhooks:write,wallets:read")
    response = key.post("/api/v1/webhook-endpoints", {"url": PUBLIC, "enabled_events": ["test.customer_poked"]},
                        format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (403, "events_not_readable")
    response = key.post("/api/v1/webhook-endpoints", {"url": PUBLIC}, format="json")
    assert response.json()["error"]["code"] == "events_not_readable"
    ok = key.post("/api/v1/webhook-endpoints", {"url": PUBLIC, "enabled_events": ["test.customer_nudged"]},
                  format="json")
    assert ok.status_code == 201
    assert WebhookEndpoint.objects.count() == 1


def test_update_list_rotate_and_delete(api):
    created = api.post("/api/v1/webhook-endpoints", {"url": PUBLIC}, format="json").json()
    url = f"/api/v1/webhook-endpoints/{created['id']}"
    updated = api.post(url, {"enabled": False, "enabled_events": ["test.customer_poked"]}, format="json").json()
    assert (updated["enabled"], updated["enabled_events"]) == (False, ["test.customer_poked"])
    assert [e["id"] for e in api.get("/api/v1/webhook-endpoints").json()["data"]] == [created["id"]]
    with clock.frozen_at(T0):
        rotated = api.post(f"{url}/rotate-secret", {}, format="json").json()
    assert rotated["secret"] != created["secret"]
    assert rotated["previous_secret_expires_at"] == "2026-05-02T12:00:00Z"
    endpoint = WebhookEndpoint.objects.get()
    assert (endpoint.secret, endpoint.previous_secret) == (rotated["secret"], created["secret"])
    assert api.delete(url).json() == {"id": created["id"], "object": "webhook_endpoint", "deleted": True}
    assert api.get(url).status_code == 404
    assert WebhookEndpoint.objects.count() == 0


def test_scopes(client_for):
    reader = client_for("webhooks:read")
    response = reader.post("/api/v1/webhook-endpoints", {"url": PUBLIC}, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (403, "insufficient_scope")
    assert reader.get("/api/v1/webhook-endpoints").status_code == 200
    assert client_for("payments:write").get("/api/v1/webhook-endpoints").status_code == 403
    assert WebhookEndpoint.objects.count() == 0


def test_endpoint_management_is_not_an_mcp_tool(make_key):
    tools = McpClient(make_key("*").raw_key).tool_names()
    assert {"list_events", "get_event"} <= set(tools)
    assert not [t for t in tools if "webhook" in t or t == "redeliver_event"]


def test_test_event_replay_redeliver_and_the_delivery_log(api, receiver):
    hook = receiver()
    created = api.post("/api/v1/webhook-endpoints", {"url": hook.url}, format="json").json()
    base = f"/api/v1/webhook-endpoints/{created['id']}"
    test = api.post(f"{base}/test", {}, format="json")
    assert test.status_code == 201
    assert (test.json()["reason"], test.json()["status"]) == ("test", "pending")
    first = _emit(T0)
    second = _emit(T0 + dt.timedelta(hours=1))
    _emit(T0 + dt.timedelta(hours=5))
    run_due_locally()
    assert len(hook.received) == 4  # the test event and the three events
    replay = api.post(f"{base}/replay", {"created_gte": "2026-05-01T11:00:00Z", "created_lte": "2026-05-01T13:30:00Z"},
                      format="json").json()
    assert replay == {"object": "webhook_replay", "endpoint_id": created["id"], "events": 2}
    redelivered = api.post(f"/api/v1/events/{first.pk}/redeliver", {"endpoint_id": created["id"]}, format="json")
    assert redelivered.status_code == 201 and redelivered.json()["event_id"] == first.pk
    run_due_locally()
    import json

    ids = [json.loads(r["body"])["id"] for r in hook.received[4:]]
    assert ids == [first.pk, second.pk, first.pk]
    log = api.get(f"{base}/deliveries", {"event_id": first.pk}).json()
    assert [(a["event_id"], a["attempt"], a["status_code"], a["succeeded"]) for a in log["data"]] == \
        [(first.pk, 1, 200, True)] * 3
    assert set(WebhookDelivery.objects.values_list("reason", flat=True)) == {"test", "event", "replay", "redeliver"}
    bad = api.post(f"{base}/replay", {"created_gte": "2026-05-02T00:00:00Z", "created_lte": "2026-05-01T00:00:00Z"},
                   format="json")
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "validation_error")


def test_redeliver_refuses_an_event_the_caller_may_not_read(client_for, receiver):
    hook = receiver()
    admin = client_for("*")
    endpoint = admin.post("/api/v1/webhook-endpoints", {"url": hook.url, "enabled_events": ["test.customer_nudged"]},
                          format="json").json()
    event = _emit()
    key = client_for("webhooks:write,wallets:read")
    response = key.post(f"/api/v1/events/{event.pk}/redeliver", {"endpoint_id": endpoint["id"]}, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")
    assert WebhookDelivery.objects.count() == 0
