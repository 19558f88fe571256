"""/metrics: the Prometheus text format, only for METRICS_TOKEN or METRICS_ALLOWED_IPS."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from prometheus_client.parser import text_string_to_metric_families

from monitoring import recorder

from .metrics_setup import fresh_metrics  # noqa: F401

pytestmark = pytest.mark.django_db
TOKEN = "scrape-token-0123456789abcdef"
SERIES = {"http_requests", "http_request_duration_seconds", "payment_transactions_total", "wallet_balance_total",
          "errors", "system_cpu_usage", "system_memory_usage", "mcp_tool_calls", "mcp_tool_duration_seconds",
          "celery_tasks", "billing_runs_total", "outbox_backlog", "webhook_deliveries_total"}


@pytest.fixture
def metrics_settings(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_IPS = ["10.1.0.0/16", "192.0.2.7"]
    return settings


def _families(response):
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"].startswith("text/plain; version=")
    return {family.name: family for family in text_string_to_metric_families(response.content.decode())}


def _sample(family, **labels):
    [value] = [s.value for s in family.samples
               if s.labels == labels and not s.name.endswith(("_bucket", "_created", "_sum", "_count"))]
    return value


def test_refused_without_a_token_or_with_a_wrong_one(client, metrics_settings):
    response = client.get("/metrics")
    assert (response.status_code, response.json()["error"]["code"]) == (401, "metrics_token_required")
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong")
    assert (response.status_code, response.json()["error"]["code"]) == (403, "metrics_forbidden")
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Basic {TOKEN}")
    assert (response.status_code, response.json()["error"]["code"]) == (403, "metrics_forbidden")


def test_refused_from_an_address_not_allowed_and_a_wrong_token_even_from_an_allowed_one(client, metrics_settings):
    response = client.get("/metrics", REMOTE_ADDR="10.2.0.1")
    assert (response.status_code, response.json()["error"]["code"]) == (401, "metrics_token_required")
    response = client.get("/metrics", REMOTE_ADDR="10.1.2.3", HTTP_AUTHORIZATION="Bearer wrong")
    assert response.status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.7").status_code == 200


def test_with_nothing_configured_everything_is_refused(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = []
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 401


def test_the_exposition_parses_and_has_every_series_with_exact_values(client, api, make_wallet, metrics_settings):
    wallet = make_wallet("USD", balance=1050)
    make_wallet("JPY", balance=700)
    assert api.get(f"/api/v1/wallets/{wallet.pk}").status_code == 200
    assert api.get("/api/v1/wallets/wal_missing0000000000000").status_code == 404
    recorder.observe("mcp", "get_wallet", 12.0, 500)
    families = _families(client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}"))
    assert SERIES <= set(families)
    route = "/api/v1/wallets/<str:wallet_id>"
    assert _sample(families["http_requests"], method="GET", route=route, status="200") == 1.0
    assert _sample(families["http_requests"], method="GET", route=route, status="404") == 1.0
    [count] = [s.value for s in families["http_request_duration_seconds"].samples
               if s.name == "http_request_duration_seconds_count" and s.labels == {"method": "GET", "route": route}]
    assert count == 2.0
    assert _sample(families["wallet_balance_total"], currency="USD") == 10.5
    assert _sample(families["wallet_balance_total"], currency="JPY") == 700.0
    assert _sample(families["errors"], kind="mcp") == 1.0
    assert _sample(families["mcp_tool_calls"], tool="get_wallet", outcome="error") == 1.0
    assert _sample(families["outbox_backlog"]) >= 0
    assert 0 <= _sample(families["system_memory_usage"]) <= 1


def test_business_series_are_read_from_the_database_at_most_once_a_minute(client, make_wallet, metrics_settings):
    make_wallet("USD", balance=100)
    first = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    make_wallet("USD", balance=900)
    with CaptureQueriesContext(connection) as queries:
        second = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert [q["sql"] for q in queries.captured_queries] == []
    assert _sample(_families(first)["wallet_balance_total"], currency="USD") == 1.0
    assert _sample(_families(second)["wallet_balance_total"], currency="USD") == 1.0


@pytest.mark.django_db(transaction=True)
def test_transactions_run_again_are_counted_by_reason(client, metrics_settings, monkeypatch):
    from django.db import OperationalError

    import core.db
    from core.rawrows import GuardFailed

    class Deadlock(OperationalError):
        sqlstate = "40P01"

    monkeypatch.setattr(core.db.time, "sleep", lambda seconds: None)
    for errors in ([GuardFailed("changed since read")], [GuardFailed("again"), Deadlock("deadlock detected")]):
        pending = list(errors)

        def body(pending=pending):
            if pending:
                raise pending.pop(0)
            return "done"

        assert core.db.run_in_transaction(body) == "done"
    family = _families(client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}"))["db_transaction_retries"]
    assert (_sample(family, reason="guard"), _sample(family, reason="deadlock")) == (2.0, 1.0)
    assert {s.labels["reason"] for s in family.samples if s.name.endswith("_total")} == {"guard", "deadlock"}
