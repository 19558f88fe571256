import datetime as dt

import pytest
import time_machine
from django.db import transaction

from core.models import AuditEvent, IdempotencyRecord
from tests.factories import CustomerFactory
from wallets import services
from wallets.models import JournalEntry, LedgerAccount, Posting, Wallet

from .test_ledger_core import snapshot

pytestmark = pytest.mark.django_db


def test_create_and_get_wallet(api):
    customer = CustomerFactory()
    r = api.post("/api/v1/wallets", {"customer_id": customer.pk, "currency": "jpy"}, format="json",
                 HTTP_IDEMPOTENCY_KEY="w1")
    assert r.status_code == 201, r.json()
    body = r.json()
    wallet = Wallet.objects.get()
    assert body == {"id": wallet.pk, "object": "wallet", "customer_id": customer.pk, "currency": "JPY",
                    "balance": "0", "available_balance": "0", "status": "active", "daily_limit": None,
                    "created": body["created"], "updated": body["updated"]}
    assert body["created"].endswith("Z")
    replay = api.post("/api/v1/wallets", {"customer_id": customer.pk, "currency": "jpy"}, format="json",
                      HTTP_IDEMPOTENCY_KEY="w1")
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    assert Wallet.objects.count() == 1
    dup = api.post("/api/v1/wallets", {"customer_id": customer.pk, "currency": "JPY"}, format="json")
    assert (dup.status_code, dup.json()["error"]["code"]) == (409, "wallet_exists")
    got = api.get(f"/api/v1/wallets/{wallet.pk}")
    assert got.status_code == 200 and got.json() == body
    assert api.get(f"/api/v1/wallets/{wallet.pk}/").json() == body
    assert api.get("/api/v1/wallets/cus_123").status_code == 404
    assert api.get("/api/v1/wallets/wal_missing").json()["error"]["code"] == "not_found"
    listed = api.get(f"/api/v1/wallets?customer_id={customer.pk}&currency=jpy").json()
    assert [w["id"] for w in listed["data"]] == [wallet.pk] and listed["has_more"] is False


def test_balance_in_decimal_strings_with_pending_holds(api, make_wallet, actor):
    from wallets import ledger

    wallet = make_wallet("KWD", balance=12345)
    with transaction.atomic():
        ledger.hold_reserve(account=wallet.account, amount=2000, actor=actor)
    body = api.get(f"/api/v1/wallets/{wallet.pk}").json()
    assert (body["balance"], body["available_balance"], body["currency"]) == ("12.345", "10.345", "KWD")


def test_transfer_and_its_refusals(api, make_wallet):
    a = make_wallet("USD", balance=1000, daily_limit=900)
    b = make_wallet("USD")
    eur = make_wallet("EUR")
    r = api.post("/api/v1/transfers", {"from_wallet_id": a.pk, "to_wallet_id": b.pk, "amount": "2.50",
                                       "currency": "USD", "description": "lunch"}, format="json")
    assert r.status_code == 201, r.json()
    entry = JournalEntry.objects.get(kind="transfer")
    assert r.json() == {"id": entry.pk, "object": "transfer", "kind": "transfer", "description": "lunch",
                        "wallet_id": a.pk, "from_wallet_id": a.pk, "to_wallet_id": b.pk, "amount": "2.50",
                        "currency": "USD", "to_amount": None, "to_currency": None, "rate": None,
                        "created": r.json()["created"]}
    audits = AuditEvent.objects.count()
    before = snapshot()
    cases = [
        ({"from_wallet_id": b.pk, "to_wallet_id": a.pk, "amount": "2.51"}, 422, "insufficient_funds"),
        ({"amount": "6.51"}, 422, "limit_exceeded"),
        ({"to_wallet_id": eur.pk}, 422, "currency_mismatch"),
        ({"amount": "abc"}, 400, "invalid_amount"),
        ({"amount": "1.001"}, 400, "amount_too_precise"),
        ({"amount": "-1"}, 400, "amount_not_positive"),
        ({"currency": "XYZ"}, 400, "unsupported_currency"),
        ({"to_wallet_id": "pay_1"}, 404, "not_found"),
    ]
    for change, status, code in cases:
        payload = {"from_wallet_id": a.pk, "to_wallet_id": b.pk, "amount": "1.00", "currency": "USD", **change}
        r = api.post("/api/v1/transfers", payload, format="json")
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), (change, r.json())
    # A failed transfer leaves no trace but its error.
    assert snapshot() == before
    assert AuditEvent.objects.count() == audits
    assert api.post(f"/api/v1/wallets/{b.pk}/freeze", {"reason": "kyc"}, format="json").json()["status"] == "frozen"
    r = api.post("/api/v1/transfers", {"from_wallet_id": a.pk, "to_wallet_id": b.pk, "amount": "1",
                                       "currency": "USD"}, format="json")
    assert (r.status_code, r.json()["error"]["code"]) == (409, "wallet_frozen")
    assert api.post(f"/api/v1/wallets/{b.pk}/unfreeze", {}, format="json").json()["status"] == "active"
    r = api.post("/api/v1/transfers", {"from_wallet_id": a.pk, "to_wallet_id": b.pk, "amount": 1,
                                       "currency": "USD"}, format="json")
    assert r.status_code == 201
    assert LedgerAccount.objects.get(pk=b.account_id).balance == 350


def test_adjustment_needs_scope_and_staff_permission(client_for, make_wallet):
    wallet = make_wallet("USD", balance=100)
    url = f"/api/v1/wallets/{wallet.pk}/adjustments"
    body = {"amount": "-0.40", "reason": "duplicate credit"}
    r = client_for("wallets:read", role="finance").post(url, body, format="json")
    assert (r.status_code, r.json()["error"]["code"]) == (403, "insufficient_scope")
    r = client_for("wallets:write", role="operator").post(url, body, format="json")
    assert (r.status_code, r.json()["error"]["code"]) == (403, "permission_denied")
    finance = client_for("wallets:write", role="finance")
    r = finance.post(url, {"amount": "1"}, format="json")
    assert (r.status_code, r.json()["error"]["code"]) == (400, "validation_error")
    assert LedgerAccount.objects.get(pk=wallet.account_id).balance == 100
    r = finance.post(url, body, format="json")
    assert r.status_code == 201, r.json()
    assert {k: r.json()[k] for k in ("kind", "amount", "currency", "wallet_id", "from_wallet_id")} == {
        "kind": "adjustment", "amount": "-0.40", "currency": "USD", "wallet_id": wallet.pk, "from_wallet_id": None}
    assert LedgerAccount.objects.get(pk=wallet.account_id).balance == 60
    assert JournalEntry.objects.get(kind="adjustment").metadata["reason"] == "duplicate credit"


def test_conversion_withdrawal_and_close(api, make_wallet, actor):
    customer = CustomerFactory()
    usd = make_wallet("USD", balance=10000, customer=customer)
    jpy = make_wallet("JPY", customer=customer)
    services.exchange_rate_set(actor=actor, base_currency="USD", quote_currency="JPY", rate="151.237",
                               source="test desk")
    r = api.post("/api/v1/conversions", {"from_wallet_id": usd.pk, "to_wallet_id": jpy.pk, "amount": "60"},
                 format="json")
    assert r.status_code == 201, r.json()
    assert {k: r.json()[k] for k in ("amount", "currency", "to_amount", "to_currency", "rate")} == {
        "amount": "60.00", "currency": "USD", "to_amount": "9074", "to_currency": "JPY", "rate": "151.2370000000"}
    r = api.post(f"/api/v1/wallets/{jpy.pk}/withdrawals", {"amount": "9074"}, format="json")
    assert r.status_code == 201
    assert {k: r.json()[k] for k in ("kind", "amount", "currency", "from_wallet_id", "to_wallet_id")} == {
        "kind": "withdrawal", "amount": "9074", "currency": "JPY", "from_wallet_id": jpy.pk, "to_wallet_id": None}
    r = api.post(f"/api/v1/wallets/{usd.pk}/close", {}, format="json")
    assert (r.status_code, r.json()["error"]["code"]) == (409, "wallet_not_empty")
    r = api.post(f"/api/v1/wallets/{jpy.pk}/close", {}, format="json")
    assert (r.status_code, r.json()["status"]) == (200, "closed")


def test_history_is_cursor_paginated_and_filtered(api, make_wallet, actor):
    a = make_wallet("USD")
    b = make_wallet("USD")
    day = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)
    from wallets import ledger
    from wallets.models import AccountType

    for i in range(5):
        with time_machine.travel(day + dt.timedelta(days=i), tick=False):
            src = ledger.system_account(account_type=AccountType.PROVIDER_CLEARING, currency="USD")
            services.wallet_credit_topup(wallet_id=a.pk, amount=1000, source=src, actor=actor, reference=f"t{i}")
            services.wallet_transfer(actor=actor, from_wallet_id=a.pk, to_wallet_id=b.pk, amount=100 + i,
                                     currency="USD")
    url = f"/api/v1/wallets/{a.pk}/transactions"
    first = api.get(url, {"limit": 3}).json()
    assert len(first["data"]) == 3 and first["has_more"] is True
    assert first["data"][0]["kind"] == "transfer" and first["data"][0]["amount"] == "-1.04"
    assert first["data"][0]["counterparty"] == b.pk
    assert first["data"][0]["balance_after"] == "44.90"  # 5 * 10.00 - (1.00 + ... + 1.04)
    rest = api.get(url, {"limit": 100, "cursor": first["next_cursor"]}).json()
    assert len(rest["data"]) == 7 and rest["has_more"] is False and rest["next_cursor"] is None
    assert {t["id"] for t in first["data"]}.isdisjoint({t["id"] for t in rest["data"]})
    oldest = rest["data"][-1]
    assert (oldest["kind"], oldest["amount"], oldest["counterparty"]) == ("wallet_topup", "10.00", "provider_clearing")
    only = api.get(url, {"kind": "transfer", "start_date": "2026-11-02", "end_date": "2026-11-03"}).json()
    assert [t["amount"] for t in only["data"]] == ["-1.02", "-1.01"]
    bad = api.get(url, {"start_date": "yesterday"})
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "validation_error")


def test_insights_say_when_history_is_too_short(api, make_wallet):
    wallet = make_wallet("USD", balance=500)
    body = api.get(f"/api/v1/wallets/{wallet.pk}/insights").json()
    assert body["totals"] == {"incoming": "5.00", "outgoing": "0.00", "net": "5.00", "count": 1}
    assert body["unusual"] == []
    assert body["anomaly_detection"]["enough_history"] is False
    assert body["anomaly_detection"]["note"].startswith("Too little history")
    assert body["change"]["incoming_percent"] is None


def test_idempotency_record_keeps_a_refusal(api, make_wallet):
    a = make_wallet("USD", balance=100)
    b = make_wallet("USD")
    payload = {"from_wallet_id": a.pk, "to_wallet_id": b.pk, "amount": "5", "currency": "USD"}
    r1 = api.post("/api/v1/transfers", payload, format="json", HTTP_IDEMPOTENCY_KEY="k-refused")
    r2 = api.post("/api/v1/transfers", payload, format="json", HTTP_IDEMPOTENCY_KEY="k-refused")
    assert r1.status_code == r2.status_code == 422
    assert r1.json()["error"] == r2.json()["error"]
    assert IdempotencyRecord.objects.filter(key="k-refused").count() == 1
    assert Posting.objects.filter(kind="transfer").count() == 0


@pytest.mark.parametrize("path", ["transactions", "insights"])
@pytest.mark.parametrize("query", ["start_date=2026-11-20&end_date=2026-11-01",
                                   "start_date=2026-11-20T10:00:00Z&end_date=2026-11-20T10:00:00Z"])
def test_a_period_that_runs_backwards_is_a_validation_error(api, make_wallet, path, query):
    wallet = make_wallet("USD")
    response = api.get(f"/api/v1/wallets/{wallet.pk}/{path}?{query}")
    assert response.status_code == 400, response.json()
    assert response.json()["error"]["code"] == "validation_error"
    assert response.json()["error"]["details"]["fields"] == {"start_date": ["Must be before end_date."]}


def test_insights_give_the_baseline_mean_and_stdev_in_major_units(api, make_wallet, actor):
    """12 earlier outgoing 0.999 .. 1.010 KWD: mean 1004.5 fils, population stdev 3.45 fils; the answer rounds
    them half up to the currency's digits (1.005, where rounding half to even would say 1.004), as decimal
    strings like every other amount in it."""
    now = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)
    with time_machine.travel(now - dt.timedelta(days=70), tick=False):
        a, b = make_wallet("KWD", balance=100_000), make_wallet("KWD")
    for i, amount in enumerate(range(999, 1011)):
        with time_machine.travel(now - dt.timedelta(days=45 - i), tick=False):
            services.wallet_transfer(actor=actor, from_wallet_id=a.pk, to_wallet_id=b.pk, amount=amount,
                                     currency="KWD")
    with time_machine.travel(now, tick=False):
        info = api.get(f"/api/v1/wallets/{a.pk}/insights").json()["anomaly_detection"]
    assert (info["enough_history"], info["mean"], info["stdev"]) == (True, "1.005", "0.003")
