"""Every registered write operation writes its audit event, in the transaction of its effect, as the
actor that called it (issue 15, audit coverage).

Each write operation is called through `core.operations.invoke` (what REST, MCP and the admin run)
with valid input built by its entry in SETUPS: the admin's `*` API key for operations an API key may
call, an admin staff member for the staff-only ones. Every SQL statement is watched: each transaction
that writes a business table must also insert an audit event, at least one such transaction exists,
and an event names the acting actor. A new write operation without an entry in SETUPS fails
`test_every_write_operation_has_a_setup`; a handler that writes no audit event fails its walk.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from functools import cached_property

import pytest
from django.db import connection
from django.db.transaction import on_commit

from accounts.models import ApiKey
from core import clock
from core.context import Actor
from core.models import AuditEvent
from core.operations import all_operations, get_operation, invoke
from tests.statements import written

pytestmark = pytest.mark.django_db(transaction=True)

WRITES = sorted(op.name for op in all_operations() if not op.read_only)
# Written with the effect but not an effect of their own: the trail itself, the idempotency record, the
# event log and its outbox, django-auditlog's field history, the MCP call log, sessions, statistics.
BOOKKEEPING = {"core_auditevent", "core_idempotencyrecord", "core_event", "core_outboxmessage", "auditlog_logentry",
               "mcp_gateway_toolcall", "django_session", "payments_providerstat",
               # the sandbox provider's own records: the outside world a payment calls, not our state
               "payments_sandboxcharge"}
_SETUP_KEYS = itertools.count()


@dataclass
class World:
    """Objects the operations act on, each made on first use (through services and operations)."""

    key_actor: Actor
    staff_actor: Actor
    system: Actor = field(default_factory=lambda: Actor.system("tests"))

    def run(self, op_name, actor=None, **data):
        return invoke(get_operation(op_name), actor=actor or self.key_actor, data=data,
                      idempotency_key=f"setup-{op_name}-{next(_SETUP_KEYS)}").body

    @cached_property
    def customer(self):
        from tests.factories import CustomerFactory

        return CustomerFactory()

    def wallet(self, currency="USD", balance=0):
        from tests.wallets_setup import open_wallet

        return open_wallet(actor=self.system, customer=self.customer, currency=currency, balance=balance)

    def other_wallet(self):
        from tests.factories import CustomerFactory
        from tests.wallets_setup import open_wallet

        return open_wallet(actor=self.system, customer=CustomerFactory(), currency="USD")

    @cached_property
    def funded(self):
        return self.wallet("USD", balance=100_000)

    def payment(self, capture_method="automatic", amount="30.00"):
        return self.run("create_payment", amount=amount, currency="USD", customer_id=self.customer.pk,
                        payment_method="tok_visa", capture_method=capture_method)

    @cached_property
    def plan(self):
        return self.run("create_plan", name="Walk", amount="9.99", currency="USD", interval="month")

    def subscription(self, payment_method="tok_visa"):
        return self.run("create_subscription", customer_id=self.customer.pk, plan_id=self.plan["id"],
                        payment_method=payment_method)

    def open_invoice(self):
        from subscriptions.models import Invoice

        sub = self.subscription("tok_decline_insufficient_funds")
        return Invoice.objects.filter(subscription_id=sub["id"], status="open").get()

    def draft_invoice(self):
        from subscriptions.models import Invoice

        invoice = self.open_invoice()
        now = clock.now()
        return Invoice.objects.create(subscription=invoice.subscription, customer=invoice.customer, status="draft",
                                      billing_reason=invoice.billing_reason, currency="USD",
                                      period_start=now + dt.timedelta(days=400),
                                      period_end=now + dt.timedelta(days=430), subtotal=999, total=999,
                                      created=now, updated=now)

    @cached_property
    def endpoint(self):
        return self.run("create_webhook_endpoint", url="https://93.184.216.34/hooks")

    def held_refund(self):
        """A refund above an approval threshold, held for a staff decision."""
        from approvals import services

        services.threshold_save(actor=self.system, api_key=None, operation="refund_payment", currency="USD",
                                amount="500.00")
        paid = self.payment(amount="900.00")
        held = self.run("refund_payment", payment_id=paid["id"], amount="600.00")
        assert held["status"] == "pending_approval", held
        return held["approval_id"]

    def model(self, status):
        from core.ml import registry

        def register(n):
            return registry.model_register(
                actor=self.system, name="fraud", version=f"walk-{status}-{n}-{clock.now().timestamp()}",
                features=["amount"], artifact=b"x", artifact_format="test", data_fingerprint="0" * 64, params={},
                metrics={"roc_auc": 0.9, "auprc": 0.5 + n / 100}, eval_fingerprint="e")

        first = register(1)
        if status == "candidate":
            return first
        registry.model_promote(actor=self.system, model_id=first.id)
        second = register(2)
        registry.model_promote(actor=self.system, model_id=second.id)
        return second  # active, with `first` retired behind it (what a rollback brings back)

    def journal_entry(self):
        from wallets.models import JournalEntry

        self.run("adjust_wallet", wallet_id=self.funded.pk, amount="5.00", reason="setup")
        return JournalEntry.objects.order_by("-created").first()

    def held_payment(self):
        from payments.services.create import payment_create

        payment = payment_create(actor=self.system, customer_id=self.customer.id, amount=1_000_000, currency="USD",
                                 method="card", payment_method="tok_visa", capture_method="automatic",
                                 channel="moto")
        assert payment.review_status == "pending", payment.review_status
        return payment

    def mismatch(self):
        from payments.models import ReconciliationMismatch

        paid = self.payment()
        return ReconciliationMismatch.objects.create(run_date=clock.today(), kind="status_mismatch",
                                                     payment_id=paid["id"], subject=paid["id"], created=clock.now())

    def failed_webhook_event(self):
        from payments.models import WebhookEvent

        return WebhookEvent.objects.create(provider="sandbox", provider_event_id="walk-1", type="unknown.type",
                                           payload={}, status="failed", received_at=clock.now())


def _frozen(w):
    w.run("freeze_wallet", wallet_id=w.funded.pk, reason="setup")
    return {"wallet_id": w.funded.pk, "reason": "checked"}


def _paused(w):
    sub = w.subscription()
    w.run("pause_subscription", subscription_id=sub["id"])
    return {"subscription_id": sub["id"]}


def _convert(w):
    from wallets.services.fx import exchange_rate_set

    exchange_rate_set(actor=w.system, base_currency="USD", quote_currency="EUR", rate="0.9", source="tests",
                      valid_from=clock.now() - dt.timedelta(minutes=1))
    return {"from_wallet_id": w.funded.pk, "to_wallet_id": w.wallet("EUR").pk, "amount": "10.00"}


# name -> (who acts: "key" or "staff", build(world) -> input). Staff-only operations (admin door) act as staff.
SETUPS = {
    "acknowledge_alert": ("key", lambda w: {"alert_id": w.run("create_alert", title="Walk", severity="high")["id"]}),
    "create_alert": ("key", lambda w: {"title": "Payouts late", "severity": "high", "reason": "3 of 10 late"}),
    "log_error": ("key", lambda w: {"message": "Payout file 42 rejected", "level": "error", "source": "walk"}),
    "record_performance_metric": ("key", lambda w: {"name": "checkout.render_ms", "value": 12.5, "unit": "ms"}),
    "resolve_alert": ("key", lambda w: {"alert_id": w.run("create_alert", title="Walk", severity="low")["id"],
                                        "note": "fixed"}),
    "resolve_error": ("key", lambda w: {"error_id": w.run("log_error", message="Walk failed")["id"]}),
    "adjust_wallet": ("key", lambda w: {"wallet_id": w.funded.pk, "amount": "-5.00", "reason": "goodwill"}),
    "approve_approval_request": ("staff", lambda w: {"approval_id": w.held_refund(), "note": "agreed"}),
    "archive_plan": ("key", lambda w: {"plan_id": w.plan["id"]}),
    "cancel_payment": ("key", lambda w: {"payment_id": w.payment("manual")["id"]}),
    "cancel_subscription": ("key", lambda w: {"subscription_id": w.subscription()["id"]}),
    "capture_payment": ("key", lambda w: {"payment_id": w.payment("manual")["id"]}),
    "close_wallet": ("key", lambda w: {"wallet_id": w.wallet("EUR").pk, "reason": "customer left"}),
    "convert_funds": ("key", _convert),
    "create_customer": ("key", lambda w: {"email": "walk@example.com", "name": "Walk"}),
    "create_payment": ("key", lambda w: {"amount": "12.00", "currency": "USD", "customer_id": w.customer.pk,
                                         "payment_method": "tok_visa"}),
    "create_plan": ("key", lambda w: {"name": "Gold", "amount": "19.00", "currency": "USD", "interval": "month"}),
    "create_subscription": ("key", lambda w: {"customer_id": w.customer.pk, "plan_id": w.plan["id"],
                                              "payment_method": "tok_visa"}),
    "create_wallet": ("key", lambda w: {"customer_id": w.customer.pk, "currency": "GBP"}),
    "create_webhook_endpoint": ("key", lambda w: {"url": "https://93.184.216.34/other"}),
    "delete_webhook_endpoint": ("key", lambda w: {"endpoint_id": w.endpoint["id"]}),
    "export_compliance_data": ("key", lambda w: {"kind": "payments", "format": "csv", "from": "2026-11-01",
                                                 "to": "2026-11-30"}),
    "finalize_invoice": ("key", lambda w: {"invoice_id": w.draft_invoice().pk}),
    "freeze_wallet": ("key", lambda w: {"wallet_id": w.funded.pk, "reason": "suspicious"}),
    "mark_invoice_uncollectible": ("key", lambda w: {"invoice_id": w.open_invoice().pk}),
    "pause_subscription": ("key", lambda w: {"subscription_id": w.subscription()["id"]}),
    "pay_invoice": ("key", lambda w: {"invoice_id": w.open_invoice().pk}),
    "promote_model": ("staff", lambda w: {"model_id": w.model("candidate").id}),
    "redeliver_event": ("key", lambda w: {"endpoint_id": w.endpoint["id"],
                                          "event_id": w.run("send_test_webhook",
                                                            endpoint_id=w.endpoint["id"])["event_id"]}),
    "refund_payment": ("key", lambda w: {"payment_id": w.payment()["id"], "amount": "1.00"}),
    "run_pci_assessment": ("staff", lambda w: {}),
    "reject_approval_request": ("staff", lambda w: {"approval_id": w.held_refund(), "note": "no"}),
    "replay_webhook_events": ("key", lambda w: w.run("create_customer", email="replayed@example.com") and {
        "endpoint_id": w.endpoint["id"], "created_gte": clock.isoformat(clock.now() - dt.timedelta(hours=1)),
        "created_lte": clock.isoformat(clock.now() + dt.timedelta(minutes=1))}),
    "resolve_reconciliation_mismatch": ("staff", lambda w: {"mismatch_id": w.mismatch().pk, "note": "checked"}),
    "resume_subscription": ("key", _paused),
    "retire_model": ("staff", lambda w: {"model_id": w.model("candidate").id}),
    "retry_webhook_event": ("staff", lambda w: {"event_id": w.failed_webhook_event().pk}),
    "reverse_journal_entry": ("staff", lambda w: {"entry_id": w.journal_entry().pk, "reason": "mistake"}),
    "review_payment": ("key", lambda w: {"payment_id": w.held_payment().pk, "decision": "approve"}),
    "revoke_api_key": ("staff", lambda w: {"api_key_id": ApiKey.objects.exclude(pk=w.key_actor.id).first().pk
                                           if ApiKey.objects.exclude(pk=w.key_actor.id).exists()
                                           else w.key_actor.id}),
    "rollback_model": ("staff", lambda w: {"model_id": w.model("active").id}),
    "rotate_webhook_secret": ("key", lambda w: {"endpoint_id": w.endpoint["id"]}),
    "send_test_webhook": ("key", lambda w: {"endpoint_id": w.endpoint["id"]}),
    "set_wallet_daily_limit": ("staff", lambda w: {"wallet_id": w.funded.pk, "daily_limit": "100.00"}),
    "top_up_wallet": ("key", lambda w: {"wallet_id": w.funded.pk, "amount": "10.00", "payment_method": "tok_visa"}),
    "train_fraud_model": ("staff", lambda w: {}),
    "transfer_funds": ("key", lambda w: {"from_wallet_id": w.funded.pk, "to_wallet_id": w.other_wallet().pk,
                                         "amount": "10.00", "currency": "USD"}),
    "unfreeze_wallet": ("key", _frozen),
    "update_customer_kyc": ("key", lambda w: {"customer_id": w.customer.pk, "status": "pending",
                                              "note": "documents requested"}),
    "update_customer": ("key", lambda w: {"customer_id": w.customer.pk, "name": "Renamed"}),
    "update_subscription": ("key", lambda w: {"subscription_id": w.subscription()["id"], "quantity": 2,
                                              "proration_behavior": "none"}),
    "update_webhook_endpoint": ("key", lambda w: {"endpoint_id": w.endpoint["id"], "description": "changed"}),
    "verify_payment": ("key", lambda w: {"payment_id": w.payment()["id"]}),
    "void_invoice": ("key", lambda w: {"invoice_id": w.open_invoice().pk}),
    "withdraw_funds": ("key", lambda w: {"wallet_id": w.funded.pk, "amount": "10.00"}),
}


def test_every_write_operation_has_a_setup():
    assert sorted(SETUPS) == WRITES


class Statements:
    """Each write statement of the connection with the number of the transaction it ran in (None:
    autocommit). A transaction's number is taken at its first statement and ends with it (commit or
    rollback both drop the on-commit marker)."""

    def __init__(self):
        self.writes: list[tuple[int | None, str]] = []
        self.number = 0
        self._marker = None

    def __call__(self, execute, sql, params, many, context):
        if connection.in_atomic_block:
            if self._marker is None or not any(hook[1] is self._marker for hook in connection.run_on_commit):
                self.number += 1
                self._marker = lambda: None
                on_commit(self._marker)
            number = self.number
        else:
            number = None
        self.writes.extend((number, table) for table in written(sql))
        return execute(sql, params, many, context)


@pytest.mark.parametrize("name", WRITES)
def test_each_write_operation_writes_its_audit_event_in_its_transaction(name, roles, make_key, make_staff,
                                                                       one_sandbox):
    if name not in SETUPS:
        pytest.fail(f"{name}: a write operation without an entry in SETUPS")
    key_actor = Actor.for_api_key(make_key("*", role="admin").api_key)
    staff = make_staff(role="admin")
    staff.is_verified = lambda: True  # as OTPMiddleware marks a session past its second factor (the admin door)
    staff_actor = Actor.for_user(staff)
    world = World(key_actor=key_actor, staff_actor=staff_actor)
    who, build = SETUPS[name]
    actor = key_actor if who == "key" else staff_actor
    data = build(world)
    before = set(AuditEvent.objects.values_list("pk", flat=True))
    statements = Statements()
    with connection.execute_wrapper(statements):
        result = invoke(get_operation(name), actor=actor, data=data, idempotency_key=f"walk-{name}")
    assert 200 <= result.status < 300, (name, result.status, result.body)
    audited = {n for n, table in statements.writes if table == "core_auditevent"}
    effects = {n for n, table in statements.writes if table not in BOOKKEEPING}
    assert audited, f"{name}: no audit event written"
    assert None not in audited, f"{name}: an audit event written outside any transaction"
    # (an operation may change nothing, e.g. a verification that finds the payment as it was: its event
    # is still written)
    assert None not in effects, f"{name}: a change made outside any transaction: {statements.writes}"
    unaudited = sorted(effects - audited)
    assert not unaudited, (f"{name}: transactions {unaudited} changed "
                           f"{sorted({t for n, t in statements.writes if n in unaudited})} without an audit event")
    new = AuditEvent.objects.exclude(pk__in=before)
    assert {(e.actor_type, e.actor_id) for e in new} >= {(actor.kind, actor.id)}, (
        name, sorted({(e.action, e.actor_type, e.actor_id) for e in new}))
