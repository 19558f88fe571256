"""Schemathesis against the running application: the committed schema must tell the truth.

Runs the `schemathesis` CLI (all checks, a bounded example count and time) against pytest-django's
`live_server` on the test database, with a `*` API key and real objects behind the path ids, and
fails on any check failure. docs/API-TESTING.md records a run's figures and how to run it by hand.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from approvals.services import threshold_save
from core.context import Actor
from core.pagination import encode_cursor

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "docs" / "schema.yml"
CONFIG = ROOT / "tests" / "schemathesis.toml"
HOOKS = ROOT / "tests" / "schemathesis_hooks.py"
SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
# Per operation and phase; with the phases' own bounds this keeps the run near a minute on 2 cores.
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "8"))
SEED = int(os.environ.get("SCHEMATHESIS_SEED", "20260"))


def _ok(response, status=(200, 201)):
    assert response.status_code in status, response.content
    return response.json()


def _objects(api: APIClient) -> dict[str, list[str]]:
    """One of each object the path ids name, made through the API as an integrator would."""
    customer = _ok(api.post("/api/v1/customers", {"email": "ada@example.com", "name": "Ada", "country": "GB"},
                            format="json"))
    usd = _ok(api.post("/api/v1/wallets", {"customer_id": customer["id"], "currency": "usd"}, format="json"))
    eur = _ok(api.post("/api/v1/wallets", {"customer_id": customer["id"], "currency": "eur"}, format="json"))
    for amount in ("500.00", "20.00"):
        _ok(api.post(f"/api/v1/wallets/{usd['id']}/top-ups", {"amount": amount, "payment_method": "tok_visa"},
                     format="json"))
    payment = _ok(api.post("/api/v1/payments", {"amount": "80.00", "currency": "usd", "customer_id": customer["id"],
                                                "method": "card", "payment_method": "tok_visa"}, format="json"))
    held = _ok(api.post("/api/v1/payments", {"amount": "20.00", "currency": "usd", "customer_id": customer["id"],
                                             "method": "card", "payment_method": "tok_visa",
                                             "capture_method": "manual"}, format="json"))
    refund = _ok(api.post(f"/api/v1/payments/{payment['id']}/refunds", {"amount": "5.00", "reason": "other"},
                          format="json"))
    plan = _ok(api.post("/api/v1/plans", {"name": "Team", "amount": "30.00", "currency": "usd",
                                          "interval": "month"}, format="json"))
    subscription = _ok(api.post("/api/v1/subscriptions", {"customer_id": customer["id"], "plan_id": plan["id"],
                                                          "payment_method": "tok_visa"}, format="json"))
    invoices = _ok(api.get(f"/api/v1/invoices?subscription_id={subscription['id']}"))["data"]
    assert invoices, "a new subscription has its first invoice"
    # Payments above 1,000.00 USD wait for a person: one held call, so an approval id exists.
    threshold_save(actor=Actor.system("tests"), api_key=None, operation="create_payment",
                                              currency="USD", amount="1000.00")
    approval = _ok(api.post("/api/v1/payments", {"amount": "1500.00", "currency": "usd",
                                                 "customer_id": customer["id"], "method": "card",
                                                 "payment_method": "tok_visa"}, format="json"), status=(202,))
    return {
        "customer": [customer["id"]], "wallet": [usd["id"], eur["id"]], "payment": [payment["id"], held["id"]],
        "refund": [refund["id"]], "plan": [plan["id"]], "subscription": [subscription["id"]],
        "invoice": [invoices[0]["id"]], "approval": [approval["approval_id"]],
    }


def _cursors(api: APIClient, wallet_id: str) -> dict[str, str]:
    """A real cursor of each list (a cursor is only what next_cursor gave; any other is 400)."""
    lists = {"list_customers": "/api/v1/customers", "list_invoices": "/api/v1/invoices",
             "list_payments": "/api/v1/payments", "list_plans": "/api/v1/plans",
             "list_subscriptions": "/api/v1/subscriptions", "list_wallets": "/api/v1/wallets",
             "wallet_transaction_history": f"/api/v1/wallets/{wallet_id}/transactions"}
    cursors = {}
    for operation_id, url in lists.items():
        page = _ok(api.get(f"{url}?limit=1"))
        newest = page["data"][0]
        cursors[operation_id] = page["next_cursor"] or encode_cursor(
            dt.datetime.fromisoformat(newest["created"].replace("Z", "+00:00")), newest["id"])
    return cursors


def _config(ids: dict[str, list[str]], cursors: dict[str, str], report: Path) -> str:
    dictionaries = "\n".join(f"[dictionaries.{kind}]\nvalues = {json.dumps(values)}\n" for kind, values in ids.items())
    # Mostly real ids (so reads and actions get past the 404 and their answers are checked against the
    # schema), sometimes generated ones (so the 404s are exercised too).
    bindings = "\n".join(f'"{where}.{kind}_id" = {{ dictionary = "{kind}", probability = 0.8 }}'
                         for kind in ids for where in ("path", "query", "body"))
    # Each list mostly gets a cursor of its own (a cursor is only what that list's next_cursor gave).
    dictionaries += "\n".join(f'[dictionaries.cursor_{name}]\nvalues = ["{cursor}"]\n'
                              for name, cursor in cursors.items())
    per_list = "\n".join(
        f'[[operations]]\ninclude-operation-id = "{name}"\n'
        f'parameters = {{ "query.cursor" = {{ dictionary = "cursor_{name}", probability = 0.9 }} }}\n'
        for name in cursors)
    bindings += '\n"body.from_wallet_id" = { dictionary = "wallet", probability = 0.8 }'
    bindings += '\n"body.to_wallet_id" = { dictionary = "wallet", probability = 0.8 }'
    return CONFIG.read_text().replace("# @DICTIONARIES@", dictionaries).replace("# @BINDINGS@", bindings) \
        .replace("@REPORT@", str(report)).replace("@HOOKS@", str(HOOKS)) + "\n" + per_list


def _figures(report: Path, filtered: Path, elapsed: float, command: list[str]) -> str:
    """The run's figures, as docs/API-TESTING.md records them."""
    lines = [f"schemathesis took {elapsed:.0f}s: {' '.join(command[3:])}"]
    summary, events = report.with_suffix(".json"), report.with_suffix(".ndjson")
    if summary.exists():
        data = json.loads(summary.read_text())
        ops, cases = data["operations"], data["test_cases"]
        lines.append(f"operations tested {ops['tested']}/{ops['total']}; cases generated {cases['generated']}, "
                     f"with failures {cases['with_failures']}, unique failures {cases['unique_failures']}")
    if events.exists():
        checks: Counter = Counter()
        for line in events.read_text().splitlines():
            finished = json.loads(line).get("ScenarioFinished") or {}
            for results in ((finished.get("recorder") or {}).get("checks") or {}).values():
                checks.update(result["status"] for result in results)
        lines.append(f"checks run {sum(checks.values())}: {dict(checks)}")
    reasons = Counter(line.split("\t")[2] for line in filtered.read_text().splitlines()) if filtered.exists() \
        else Counter()
    lines += [f"dropped by filter_failure: {count} x {reason}" for reason, count in reasons.most_common()]
    return "\n".join(lines)


@pytest.mark.django_db(transaction=True)
def test_schemathesis_finds_nothing(live_server, make_key, tmp_path):
    created = make_key("*")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {created.raw_key}")
    ids = _objects(api)
    config = tmp_path / "schemathesis.toml"
    report = tmp_path / "report"
    config.write_text(_config(ids, _cursors(api, ids["wallet"][0]), report))
    command = [str(SCHEMATHESIS), "--config-file", str(config), "--no-color", "run", str(SCHEMA),
               "--url", live_server.url, "--seed", str(SEED), "--max-examples", str(MAX_EXAMPLES),
               *os.environ.get("SCHEMATHESIS_EXTRA", "").split()]
    filtered = tmp_path / "filtered.tsv"
    started = time.monotonic()
    result = subprocess.run(command + ["-H", f"Authorization: Bearer {created.raw_key}"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=600,
                            env={**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_FILTER_LOG": str(filtered)})
    elapsed = time.monotonic() - started
    output = Path(os.environ.get("SCHEMATHESIS_OUTPUT", tmp_path / "output.txt"))
    output.write_text(result.stdout + result.stderr)
    print(result.stdout[-3000:])
    print(_figures(report, filtered, elapsed, command))
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-4000:]
