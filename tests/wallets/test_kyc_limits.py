"""KYC limits gate money leaving a customer's wallets (wallets.services.kyc), at every door, with nothing
changed on a refusal; incoming money, refunds, top-ups and staff adjustments are never gated."""

import datetime as dt

import pytest
from auditlog.models import LogEntry

from accounts.services import customer_kyc_update
from core import clock
from core.errors import ValidationFailed
from core.models import AuditEvent, Event
from core.money import CURRENCY_EXPONENTS
from tests.adminurls import admin_url, operation_url
from tests.concurrency import run_threads
from tests.factories import CustomerFactory
from tests.mcp.conftest import McpClient
from wallets import services
from wallets.errors import KycRequired
from wallets.models import JournalEntry, KycLimit, LedgerAccount, Posting
from wallets.services.kyc import kyc_limit_save

pytestmark = pytest.mark.django_db

NOON = dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def kyc_wallet(make_wallet, kyc_limits):
    """kyc_wallet(status, currency="USD", balance=200_000, customer=None): a funded wallet of a customer in
    that KYC status (the status set directly: the opening top-up is never gated anyway)."""

    def make(status, currency="USD", balance=200_000, customer=None):
        customer = customer or CustomerFactory(kyc_status=status)
        return make_wallet(currency, balance=balance, customer=customer)

    return make


@pytest.fixture
def usd_eur_rate(actor):
    services.exchange_rate_set(actor=actor, base_currency="USD", quote_currency="EUR", rate="0.9", source="test",
                               valid_from=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))


def state():
    """What a refused movement must leave as it was."""
    return (sorted(LedgerAccount.objects.values_list("pk", "balance", "pending_debits")),
            JournalEntry.objects.count(), Posting.objects.count(), AuditEvent.objects.count(), Event.objects.count(),
            LogEntry.objects.count())


def test_the_migration_seeds_every_currency_for_every_gated_status():
    rows = {(r.kyc_status, r.currency): (r.daily_outgoing_limit, r.daily_withdrawal_limit)
            for r in KycLimit.objects.all()}
    assert len(rows) == 3 * len(CURRENCY_EXPONENTS)
    assert {c for _, c in rows} == set(CURRENCY_EXPONENTS)
    # 1,000 USD at the reference rates, two significant digits, whole major units.
    assert {c: rows[("unverified", c)][0] for c in ("USD", "EUR", "GBP", "JPY", "KWD", "BHD", "VND")} == {
        "USD": 100_000, "EUR": 92_000, "GBP": 79_000, "JPY": 150_000, "KWD": 310_000, "BHD": 380_000,
        "VND": 25_000_000}
    assert all(rows[("pending", c)] == rows[("unverified", c)] for c in CURRENCY_EXPONENTS)
    assert {rows[("rejected", c)] for c in CURRENCY_EXPONENTS} == {(0, 0)}
    assert {rows[(s, c)][1] for s in ("unverified", "pending") for c in CURRENCY_EXPONENTS} == {0}


@pytest.mark.parametrize("status", ["unverified", "pending"])
def test_transfers_and_conversions_count_together_up_to_the_limit_exactly(status, kyc_wallet, make_wallet, actor,
                                                                          usd_eur_rate):
    with clock.frozen_at(NOON):
        source = kyc_wallet(status)
        eur = make_wallet("EUR", customer=source.customer)
        payee = make_wallet("USD")
        services.wallet_transfer(actor=actor, from_wallet_id=source.pk, to_wallet_id=payee.pk, amount=60_000,
                                 currency="USD")
        services.wallet_convert(actor=actor, from_wallet_id=source.pk, to_wallet_id=eur.pk, amount=40_000)
        before = state()
        with pytest.raises(KycRequired) as refused:
            services.wallet_transfer(actor=actor, from_wallet_id=source.pk, to_wallet_id=payee.pk, amount=1,
                                     currency="USD")
        assert (refused.value.status, refused.value.code) == (422, "kyc_required")
        assert refused.value.details == {
            "customer_id": source.customer_id, "wallet_id": source.pk, "kyc_status": status, "movement": "transfer",
            "daily_limit": "1000.00", "used_today": "1000.00", "amount": "0.01", "currency": "USD"}
        with pytest.raises(KycRequired) as refused:
            services.wallet_convert(actor=actor, from_wallet_id=source.pk, to_wallet_id=eur.pk, amount=1)
        assert refused.value.details["movement"] == "conversion"
        assert state() == before
    # The next UTC day starts afresh.
    with clock.frozen_at(NOON + dt.timedelta(hours=12)):
        services.wallet_transfer(actor=actor, from_wallet_id=source.pk, to_wallet_id=payee.pk, amount=100_000,
                                 currency="USD")
    assert LedgerAccount.objects.get(pk=source.account_id).balance == 0


def test_one_minor_unit_over_the_limit_is_refused_and_the_limit_itself_passes(kyc_wallet, make_wallet, actor):
    source, payee = kyc_wallet("unverified", "JPY", balance=500_000), make_wallet("JPY")
    with pytest.raises(KycRequired) as refused:
        services.wallet_transfer(actor=actor, from_wallet_id=source.pk, to_wallet_id=payee.pk, amount=150_001,
                                 currency="JPY")
    assert {k: refused.value.details[k] for k in ("daily_limit", "used_today", "amount", "currency")} == {
        "daily_limit": "150000", "used_today": "0", "amount": "150001", "currency": "JPY"}
    services.wallet_transfer(actor=actor, from_wallet_id=source.pk, to_wallet_id=payee.pk, amount=150_000,
                             currency="JPY")
    assert LedgerAccount.objects.get(pk=payee.account_id).balance == 150_000


def test_incoming_money_does_not_count_and_is_never_refused(kyc_wallet, make_wallet, actor):
    limited = kyc_wallet("pending", balance=0)
    rich = make_wallet("USD", balance=1_000_000)
    services.wallet_transfer(actor=actor, from_wallet_id=rich.pk, to_wallet_id=limited.pk, amount=500_000,
                             currency="USD")
    services.wallet_transfer(actor=actor, from_wallet_id=limited.pk, to_wallet_id=rich.pk, amount=100_000,
                             currency="USD")
    assert LedgerAccount.objects.get(pk=limited.account_id).balance == 400_000


@pytest.mark.parametrize("status", ["unverified", "pending", "rejected"])
def test_withdrawals_need_a_verified_customer(status, kyc_wallet, actor):
    wallet = kyc_wallet(status)
    before = state()
    with pytest.raises(KycRequired) as refused:
        services.wallet_withdraw(actor=actor, wallet_id=wallet.pk, amount=100)
    assert refused.value.details == {
        "customer_id": wallet.customer_id, "wallet_id": wallet.pk, "kyc_status": status, "movement": "withdrawal",
        "daily_limit": "0.00", "used_today": "0.00", "amount": "1.00", "currency": "USD"}
    assert state() == before


def test_a_rejected_customer_can_send_and_convert_nothing_but_still_receives(kyc_wallet, make_wallet, actor,
                                                                             usd_eur_rate, one_sandbox):
    from payments.services import payment_create, refund_create

    wallet = kyc_wallet("verified")
    eur = make_wallet("EUR", customer=wallet.customer)
    other = make_wallet("USD", balance=10_000)
    spend = payment_create(actor=actor, customer_id=wallet.customer_id, amount=2_500, currency="USD",
                           method="wallet", payment_method=wallet.pk)
    customer_kyc_update(actor=actor, customer_id=wallet.customer_id, kyc_status="rejected", note="sanctions hit")
    before = state()
    for attempt in (
        lambda: services.wallet_transfer(actor=actor, from_wallet_id=wallet.pk, to_wallet_id=other.pk, amount=1,
                                         currency="USD"),
        lambda: services.wallet_convert(actor=actor, from_wallet_id=wallet.pk, to_wallet_id=eur.pk, amount=100),
        lambda: services.wallet_withdraw(actor=actor, wallet_id=wallet.pk, amount=1),
    ):
        with pytest.raises(KycRequired) as refused:
            attempt()
        assert (refused.value.details["kyc_status"], refused.value.details["daily_limit"]) == ("rejected", "0.00")
    assert state() == before
    # Incoming transfers, refunds to the customer and staff adjustments (both ways) go through.
    services.wallet_transfer(actor=actor, from_wallet_id=other.pk, to_wallet_id=wallet.pk, amount=1_000,
                             currency="USD")
    refund_create(actor=actor, payment_id=spend.pk, amount=2_500)
    services.wallet_adjust(actor=actor, wallet_id=wallet.pk, amount=300, reason="goodwill")
    services.wallet_adjust(actor=actor, wallet_id=wallet.pk, amount=-200, reason="correction")
    assert LedgerAccount.objects.get(pk=wallet.account_id).balance == 200_000 + 1_000 + 100


def test_a_verified_customer_has_no_kyc_limit(kyc_wallet, make_wallet, actor):
    wallet, payee = kyc_wallet("verified", balance=10_000_000), make_wallet("USD")
    services.wallet_transfer(actor=actor, from_wallet_id=wallet.pk, to_wallet_id=payee.pk, amount=5_000_000,
                             currency="USD")
    services.wallet_withdraw(actor=actor, wallet_id=wallet.pk, amount=5_000_000)
    assert LedgerAccount.objects.get(pk=wallet.account_id).balance == 0


def test_a_status_change_applies_to_the_next_movement(kyc_wallet, make_wallet, actor):
    wallet, payee = kyc_wallet("pending"), make_wallet("USD")
    with pytest.raises(KycRequired):
        services.wallet_withdraw(actor=actor, wallet_id=wallet.pk, amount=100)
    customer_kyc_update(actor=actor, customer_id=wallet.customer_id, kyc_status="verified", note="passport ok")
    services.wallet_withdraw(actor=actor, wallet_id=wallet.pk, amount=100)
    customer_kyc_update(actor=actor, customer_id=wallet.customer_id, kyc_status="rejected", note="fraud ring")
    with pytest.raises(KycRequired):
        services.wallet_transfer(actor=actor, from_wallet_id=wallet.pk, to_wallet_id=payee.pk, amount=1,
                                 currency="USD")


def test_staff_edits_of_a_limit_apply_at_once_and_are_audited(kyc_wallet, make_wallet, actor):
    wallet, payee = kyc_wallet("unverified"), make_wallet("USD")
    services.wallet_transfer(actor=actor, from_wallet_id=wallet.pk, to_wallet_id=payee.pk, amount=5_000,
                             currency="USD")  # the cache now holds the seeded limits
    row = KycLimit.objects.get(kyc_status="unverified", currency="USD")
    row.daily_outgoing_limit = 10_000
    kyc_limit_save(actor=actor, limit=row)
    with pytest.raises(KycRequired) as refused:
        services.wallet_transfer(actor=actor, from_wallet_id=wallet.pk, to_wallet_id=payee.pk, amount=5_001,
                                 currency="USD")
    assert (refused.value.details["daily_limit"], refused.value.details["used_today"]) == ("100.00", "50.00")
    services.wallet_transfer(actor=actor, from_wallet_id=wallet.pk, to_wallet_id=payee.pk, amount=5_000,
                             currency="USD")
    event = AuditEvent.objects.get(action="kyc_limit.updated")
    assert event.details == {"kyc_status": "unverified", "currency": "USD", "daily_outgoing_limit": "100.00",
                             "daily_withdrawal_limit": "0.00"}
    row.daily_withdrawal_limit = -1
    with pytest.raises(ValidationFailed):
        kyc_limit_save(actor=actor, limit=row)
    assert KycLimit.objects.get(pk=row.pk).daily_withdrawal_limit == 0


def test_a_missing_row_allows_nothing(kyc_wallet, make_wallet, actor):
    wallet, payee = kyc_wallet("unverified"), make_wallet("USD")
    KycLimit.objects.filter(kyc_status="unverified", currency="USD").delete()
    with pytest.raises(KycRequired) as refused:
        services.wallet_transfer(actor=actor, from_wallet_id=wallet.pk, to_wallet_id=payee.pk, amount=1,
                                 currency="USD")
    assert refused.value.details["daily_limit"] == "0.00"


# --- every door ---------------------------------------------------------------------------


def test_rest_refuses_with_422_kyc_required_and_changes_nothing(api, kyc_wallet, make_wallet):
    wallet, payee = kyc_wallet("unverified"), make_wallet("USD")
    before = state()
    over = api.post("/api/v1/transfers", {"from_wallet_id": wallet.pk, "to_wallet_id": payee.pk,
                                          "amount": "1000.01", "currency": "USD"}, format="json",
                    HTTP_IDEMPOTENCY_KEY="t1")
    assert over.status_code == 422
    error = over.json()["error"]
    assert (error["code"], error["details"]) == ("kyc_required", {
        "customer_id": wallet.customer_id, "wallet_id": wallet.pk, "kyc_status": "unverified",
        "movement": "transfer", "daily_limit": "1000.00", "used_today": "0.00", "amount": "1000.01",
        "currency": "USD"})
    withdraw = api.post(f"/api/v1/wallets/{wallet.pk}/withdrawals", {"amount": "1.00"}, format="json")
    assert (withdraw.status_code, withdraw.json()["error"]["code"]) == (422, "kyc_required")
    assert withdraw.json()["error"]["details"]["daily_limit"] == "0.00"
    assert state() == before
    ok = api.post("/api/v1/transfers", {"from_wallet_id": wallet.pk, "to_wallet_id": payee.pk,
                                        "amount": "1000.00", "currency": "USD"}, format="json")
    assert ok.status_code == 201, ok.json()


def test_mcp_refuses_with_kyc_required_and_changes_nothing(make_key, kyc_wallet, make_wallet):
    wallet, payee = kyc_wallet("rejected"), make_wallet("USD")
    mcp = McpClient(make_key("*").raw_key)
    before = state()
    error = mcp.error("transfer_funds", {"from_wallet_id": wallet.pk, "to_wallet_id": payee.pk, "amount": "0.01",
                                         "currency": "USD", "idempotency_key": "m1"})
    assert (error["code"], error["details"]["kyc_status"], error["details"]["daily_limit"],
            error["details"]["used_today"], error["details"]["currency"]) == (
        "kyc_required", "rejected", "0.00", "0.00", "USD")
    error = mcp.error("withdraw_funds", {"wallet_id": wallet.pk, "amount": "1.00", "idempotency_key": "m2"})
    assert error["code"] == "kyc_required"
    assert state() == before


def test_admin_refuses_with_the_api_code_and_changes_nothing(staff_client, kyc_wallet, make_wallet):
    wallet, payee = kyc_wallet("pending"), make_wallet("USD")
    client = staff_client("operator")
    before = state()
    fields = {"_operation": "transfer_funds", "_token": "tok-" + "a" * 12, "to_wallet_id": payee.pk,
              "amount": "1000.01", "currency": "USD"}
    preview = client.post(operation_url(wallet, "transfer_funds"), fields).content.decode()
    assert "Would be refused" in preview and "(kyc_required)" in preview
    transfer = client.post(operation_url(wallet, "transfer_funds"), {**fields, "_confirm": "yes"})
    messages = [str(m) for m in transfer.wsgi_request._messages]
    assert transfer.status_code == 302 and any("(kyc_required)" in m for m in messages), messages
    withdraw = client.post(operation_url(wallet, "withdraw_funds"), {
        "_operation": "withdraw_funds", "_token": "tok-" + "b" * 12, "amount": "1.00", "_confirm": "yes"})
    messages = [str(m) for m in withdraw.wsgi_request._messages]
    assert any("(kyc_required)" in m for m in messages), messages
    assert state() == before
    page = client.get(admin_url(wallet)).content.decode()
    assert operation_url(wallet, "withdraw_funds") in page


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_transfers_cannot_both_pass_the_limit(roles, kyc_limits, make_wallet, actor):
    wallet = make_wallet("USD", balance=500_000, customer=CustomerFactory(kyc_status="unverified"))
    payees = [make_wallet("USD"), make_wallet("USD")]

    def send(i):
        return services.wallet_transfer(actor=actor, from_wallet_id=wallet.pk, to_wallet_id=payees[i].pk,
                                        amount=60_000, currency="USD")

    outcomes = run_threads(2, send)
    assert sorted(type(o).__name__ for o in outcomes) == ["JournalEntry", "KycRequired"], outcomes
    refused = next(o for o in outcomes if isinstance(o, KycRequired))
    assert (refused.details["used_today"], refused.details["amount"]) == ("600.00", "600.00")
    assert LedgerAccount.objects.get(pk=wallet.account_id).balance == 440_000
    assert JournalEntry.objects.filter(kind="transfer").count() == 1


def test_staff_edit_a_limit_in_the_admin_in_major_units(staff_client):
    row = KycLimit.objects.get(kyc_status="pending", currency="EUR")
    client = staff_client("admin")
    page = client.get(admin_url(row)).content.decode()
    assert 'value="920.00"' in page
    saved = client.post(admin_url(row), {"kyc_status": "pending", "currency": "EUR",
                                         "daily_outgoing_limit": "500.00", "daily_withdrawal_limit": ""})
    assert saved.status_code == 302, saved.content[:1000]
    row.refresh_from_db()
    assert (row.daily_outgoing_limit, row.daily_withdrawal_limit) == (50_000, None)
    event = AuditEvent.objects.get(action="kyc_limit.updated")
    assert (event.actor_type, event.details["daily_outgoing_limit"], event.details["daily_withdrawal_limit"]) == (
        "user", "500.00", None)
    assert LogEntry.objects.get_for_object(row).count() == 1
    assert staff_client("operator").get(admin_url(row)).status_code == 200  # operators may view, not edit
    refused = staff_client("operator").post(admin_url(row), {"kyc_status": "pending", "currency": "EUR",
                                                             "daily_outgoing_limit": "1.00"})
    assert refused.status_code == 403
    assert KycLimit.objects.get(pk=row.pk).daily_outgoing_limit == 50_000
