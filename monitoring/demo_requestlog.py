"""Demo entries of the request log: real calls through the REST and MCP doors (Django's test client,
the whole middleware stack) with a demo integration key, so the log shows what the product records,
not rows made up for it. Idempotent: nothing is called again while the demo key's entries are kept."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client

from accounts import services as accounts_services
from accounts.models import User
from core.context import Actor
from core.ids import random_chars
from wallets.models import Wallet

from . import requestlog
from .models import RequestLog

KEY_NAME = "Demo integration (request log)"
OWNER = "demo-integration"
SCOPES = ["wallets:read", "payments:read", "payments:write", "monitoring:read"]
MCP_VERSION = "2025-11-25"


def seed(*, rng: Any, stdout: Any) -> None:
    if not requestlog.enabled():
        stdout.write("  request log: off (REQUEST_LOG_ENABLED), no demo calls")
        return
    if RequestLog.objects.filter(api_key_name=KEY_NAME).exists():
        stdout.write("  request log: demo calls already logged")
        return
    actor = Actor.system("seed_demo")
    owner = User.objects.filter(username=OWNER).first()
    if owner is None:
        owner = accounts_services.staff_user_create(actor=actor, username=OWNER, password=random_chars(32),
                                                    role="operator", with_totp=False).user
    raw_key = accounts_services.api_key_create(actor=actor, owner=owner, name=KEY_NAME, scopes=SCOPES).raw_key
    statuses = _calls(Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Bearer {raw_key}"), rng)
    requestlog.flush()  # the queued rows now, not when the writer thread next wakes
    stdout.write(f"  request log: {len(statuses)} demo calls (statuses {', '.join(map(str, statuses))})")


def _calls(client: Client, rng: Any) -> list[int]:
    wallet = Wallet.objects.order_by("created").first()
    responses = [
        client.get("/api/v1/wallets", {"limit": 3}),
        # The e-mail, the name and the card number in the note are redacted in the log; the API refuses
        # the card number (raw_card_data_not_allowed) and creates nothing.
        client.post("/api/v1/customers", json.dumps({
            "email": "ada.lovelace@example.com", "name": "Ada Lovelace",
            "metadata": {"note": "card 4242 4242 4242 4242, exp 12/30"}}), content_type="application/json",
            headers={"Idempotency-Key": f"demo-rlog-{rng.randrange(10**9)}"}),
        client.get("/api/v1/wallets/wal_doesnotexist"),
        client.get("/api/v1/request-logs", {"status": "9xx"}),
        client.post("/mcp/", json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
            "name": "list_wallets", "arguments": {"limit": 2}}}), content_type="application/json",
            headers={"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": MCP_VERSION}),
    ]
    if wallet is not None:
        responses.append(client.get(f"/api/v1/wallets/{wallet.pk}"))
    return [response.status_code for response in responses]
