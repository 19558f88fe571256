"""Audit events planted in the week of Monday 2026-03-02 .. Sunday 2026-03-08 (UTC) for the audit
report and audit trail tests, made by the services that write them (or `audit_record` with declared
actions), each at a frozen time. `plant_week` returns the events by name."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from accounts import services as account_services
from compliance import services as compliance_services
from core import clock
from core.audit import audit_build, audit_record
from core.context import Actor
from core.models import AuditEvent
from wallets import services as wallet_services

WEEK = (dt.date(2026, 3, 2), dt.date(2026, 3, 8))


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, minute, second, tzinfo=dt.UTC)


@dataclass
class Week:
    alice: object  # staff user (finance)
    bob: object  # staff user (admin)
    wallet_id: str
    events: dict[str, AuditEvent]

    def ids(self, *names: str) -> list[str]:
        return [self.events[name].pk for name in names]


def _latest(action: str) -> AuditEvent:
    return AuditEvent.objects.filter(action=action).order_by("-occurred_at", "-pk")[0]


def plant_week(make_staff, customer) -> Week:
    alice, bob = make_staff("finance", username="alice"), make_staff("admin", username="bob")
    as_alice, as_bob, tests = Actor.for_user(alice), Actor.for_user(bob), Actor.system("tests")
    events: dict[str, AuditEvent] = {}
    with clock.frozen_at(at(1, 23, 59, 59)):  # the Sunday before: outside the period
        events["before"] = audit_record(action="wallet.frozen", actor=as_alice, object_type="wallets.wallet",
                                        object_id="wal_before", details={"reason": "outside"})
    with clock.frozen_at(at(2, 10)):
        wallet = wallet_services.wallet_create(actor=tests, customer_id=customer.pk, currency="USD")
        events["wallet_created"] = _latest("wallet.created")
    with clock.frozen_at(at(2, 10, 5)):
        wallet_services.wallet_adjust(actor=as_alice, wallet_id=wallet.pk, amount=5_000, reason="goodwill")
        events["adjust_in_hours"] = _latest("wallet.adjusted")
    with clock.frozen_at(at(3, 9)):
        account_services.login_record_failure(username="mallory", stage="password")
        events["password_failed"] = _latest("login.password_failed")
    with clock.frozen_at(at(3, 9, 1)):
        account_services.login_record_failure(username="mallory", stage="otp")
        events["otp_failed"] = _latest("login.otp_failed")
    with clock.frozen_at(at(4, 22, 30)):
        account_services.staff_user_set_role(actor=as_bob, user=alice, role="finance")
        events["role_changed"] = _latest("staff_user.role_changed")
    with clock.frozen_at(at(5, 12)):
        events["refund_large_usd"] = audit_record(action="refund.created", actor=tests, object_type="payments.refund",
                                                  object_id="re_large", details={"amount": 150_000, "currency": "USD"})
    with clock.frozen_at(at(5, 12, 1)):
        events["refund_small_usd"] = audit_record(action="refund.created", actor=tests, object_type="payments.refund",
                                                  object_id="re_small", details={"amount": 99_999, "currency": "USD"})
    with clock.frozen_at(at(5, 12, 2)):
        events["refund_large_jpy"] = audit_record(action="refund.created", actor=tests, object_type="payments.refund",
                                                  object_id="re_jpy", details={"amount": 150_000, "currency": "JPY"})
    with clock.frozen_at(at(6, 14)):
        events["approval_approved"] = audit_record(action="mcp.approval.approved", actor=as_bob,
                                                   object_type="mcp_gateway.approvalrequest", object_id="apr_1")
    with clock.frozen_at(at(6, 14, 1)):
        # A legacy name an earlier release wrote (declared as an alias of payment.review_rejected).
        legacy = audit_build(action="payment.review_rejected", actor=as_bob, object_type="payments.payment",
                             object_id="pay_review", details={"note": "stolen card"})
        legacy.action = "payment.review_rejectd"
        legacy.save(force_insert=True)
        events["review_rejected_legacy"] = legacy
    with clock.frozen_at(at(7, 11)):
        wallet_services.wallet_adjust(actor=as_alice, wallet_id=wallet.pk, amount=-1_000, reason="fee correction")
        events["adjust_weekend"] = _latest("wallet.adjusted")
    with clock.frozen_at(at(8, 23, 59, 59)):
        compliance_services.audit_report_download(actor=as_bob, start=dt.date(2026, 2, 1), end=dt.date(2026, 2, 28),
                                                  file_format="csv")
        events["report_downloaded"] = _latest("compliance.audit_report_downloaded")
    with clock.frozen_at(at(9, 0)):  # the Monday after: outside the period
        events["after"] = audit_record(action="refund.created", actor=tests, object_type="payments.refund",
                                       object_id="re_after", details={"amount": 500_000, "currency": "USD"})
    return Week(alice=alice, bob=bob, wallet_id=wallet.pk, events=events)
