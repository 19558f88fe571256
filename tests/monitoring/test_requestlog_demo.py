"""The demo's request log entries come from real calls through the doors, once."""

import io
import random

import pytest

from monitoring import demo_requestlog
from monitoring.models import RequestLog


@pytest.fixture(autouse=True)
def _request_log_on(settings):
    settings.REQUEST_LOG_ENABLED = True
    settings.REQUEST_LOG_BACKGROUND = False


def test_the_demo_logs_real_calls_once(make_wallet, roles):
    wallet = make_wallet(balance=1_000)
    out = io.StringIO()
    demo_requestlog.seed(rng=random.Random(1), stdout=out)
    rows = list(RequestLog.objects.order_by("created", "id"))
    assert [(r.kind, r.route or r.tool, r.status, r.error_code) for r in rows] == [
        ("rest", "GET /api/v1/wallets", 200, ""),
        ("rest", "POST /api/v1/customers", 400, "raw_card_data_not_allowed"),
        ("rest", "GET /api/v1/wallets/<str:wallet_id>", 404, "not_found"),
        ("rest", "GET /api/v1/request-logs", 400, "validation_error"),
        ("mcp", "list_wallets", 200, ""),
        ("rest", "GET /api/v1/wallets/<str:wallet_id>", 200, ""),
    ]
    assert {r.api_key_name for r in rows} == {demo_requestlog.KEY_NAME}
    assert rows[1].request_body["email"] == "[REDACTED]"
    assert rows[5].path == f"/api/v1/wallets/{wallet.pk}"
    assert "6 demo calls" in out.getvalue()
    demo_requestlog.seed(rng=random.Random(1), stdout=out)
    assert RequestLog.objects.count() == 6
    assert out.getvalue().endswith("request log: demo calls already logged")
