"""Reads of the compliance app."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import (
    BigIntegerField,
    Case,
    CharField,
    Count,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce, ExtractHour, ExtractIsoWeekDay

from core import clock
from core.audit import action_aliases, canonical_action, declared_actions
from core.context import Actor
from core.ids import get_by_public_id
from core.models import AuditEvent
from core.money import CURRENCY_EXPONENTS, format_amount
from core.pagination import Page, filter_present, paginate
from payments.models import Payment, Refund
from wallets.models import Wallet

from .errors import ExportNotFound
from .models import ComplianceExport


# --- PCI self-assessment ---------------------------------------------------------------------------
def pci_assessment_live(*, actor: Actor) -> dict[str, Any]:
    """Runs every PCI check now (nothing is stored): `{"score", "checks", "assessed_at"}`."""
    from . import pci

    return pci.run_assessment()







# --- exports ---------------------------------------------------------------------------------------
def compliance_export_get(*, export_id: str) -> ComplianceExport:
    return get_by_public_id(ComplianceExport.objects.all(), export_id, field="export_id", error=ExportNotFound)






# --- the audit trail ----------------------------------------------------------------------------


def action_names(action: str) -> list[str]:
    """The stored names that mean `action`: itself and every legacy alias of it."""
    current = canonical_action(action)
    return sorted({current, *(legacy for legacy, now in action_aliases().items() if now == current)})


def audit_event_queryset(*, action: str | None = None, actor_id: str | None = None, object_id: str | None = None,
                         created_gte: dt.datetime | None = None,
                         created_lte: dt.datetime | None = None) -> QuerySet[AuditEvent]:
    queryset = filter_present(AuditEvent.objects.all(), actor_id=actor_id, object_id=object_id,
                              occurred_at__gte=created_gte, occurred_at__lte=created_lte)
    if action:
        queryset = queryset.filter(action__in=action_names(action))
    return queryset


def audit_event_list(*, limit: int = 20, cursor: str | None = None, **filters: Any) -> Page:
    """Newest first, cursor-paginated on (occurred_at, id)."""
    return paginate(audit_event_queryset(**filters), limit=limit, cursor=cursor, created_field="occurred_at")


# --- the audit report -----------------------------------------------------------------------------

# Objects whose currency an amount-bearing event leaves implicit (details without "currency").
_CURRENCY_OF: dict[str, Any] = {"wallets.wallet": Wallet, "payments.payment": Payment, "payments.refund": Refund}
_INTEGER = r"^-?[0-9]{1,18}$"


def _amount_expression() -> Case:
    """details.amount (or a conversion's from_amount), minor units, when it is an integer; else NULL.
    A CASE, so no row's text reaches the cast unless it is digits (PostgreSQL may evaluate WHERE
    terms in any order)."""
    return Case(
        When(details__amount__regex=_INTEGER, then=Cast(KT("details__amount"), BigIntegerField())),
        When(details__from_amount__regex=_INTEGER, then=Cast(KT("details__from_amount"), BigIntegerField())),
        default=Value(None), output_field=BigIntegerField())


def _currency_expression() -> Coalesce:
    """details.currency (or from_currency), else the currency of the object the event is about."""
    by_object = [When(object_type=label, then=Subquery(model.objects.filter(pk=OuterRef("object_id"))
                                                         .values("currency")[:1]))
                 for label, model in _CURRENCY_OF.items()]
    return Coalesce(KT("details__currency"), KT("details__from_currency"),
                    Case(*by_object, default=Value(None), output_field=CharField()), output_field=CharField())


# Keys of audit details that hold minor units (a conversion's source and target sides have their own currency).
_MONEY_KEY = re.compile(r"(^|_)(amount|fee|balance|available|limit|used_today|total)(_|$)")


def audit_details_shown(event: AuditEvent) -> dict[str, Any]:
    """The event's details as people read them: each amount in minor units as a decimal with its currency
    (the details' own, a conversion side's, else the currency of the object the event is about)."""
    details = event.details if isinstance(event.details, dict) else {}
    model = _CURRENCY_OF.get(event.object_type)
    fallback = details.get("currency") or details.get("from_currency")
    if not isinstance(fallback, str) and model is not None:
        fallback = model.objects.filter(pk=event.object_id).values_list("currency", flat=True).first()
    shown: dict[str, Any] = {}
    for key, value in details.items():
        currency = details.get("to_currency") if key.startswith("to_") else fallback
        if (isinstance(value, int) and not isinstance(value, bool) and _MONEY_KEY.search(key)
                and isinstance(currency, str) and currency in CURRENCY_EXPONENTS):
            shown[key] = f"{format_amount(value, currency)} {currency}"
        else:
            shown[key] = value
    return shown


@dataclass(frozen=True)
class ExceptionKind:
    kind: str
    title: str


EXCEPTION_KINDS = (
    ExceptionKind("large_refunds", "Refunds at or above AUDIT_REPORT_LARGE_REFUND"),
    ExceptionKind("manual_adjustments", "Staff balance adjustments and ledger reversals"),
    ExceptionKind("approval_decisions", "Approval and risk-review decisions"),
    ExceptionKind("failed_logins", "Failed logins (password or second factor)"),
    ExceptionKind("role_changes", "Staff users created, their roles or permissions changed"),
    ExceptionKind("off_hours_staff_activity", "Staff user events outside business hours (UTC)"),
    ExceptionKind("exports", "Data exports and report downloads"),
)

_MANUAL_ADJUSTMENTS = ("wallet.adjusted", "journal_entry.reversed")
_APPROVAL_DECISIONS = ("mcp.approval.approved", "mcp.approval.rejected", "payment.review_approved",
                       "payment.review_rejected")
_FAILED_LOGINS = ("login.password_failed", "login.otp_failed")
_ROLE_CHANGES = ("staff_user.created", "staff_user.added", "staff_user.role_changed", "staff_user.credentials_reset",
                 "staff_user.access_changed", "staff_user.groups_changed", "staff_user.permissions_changed",
                 "staff_user.deleted", "group.saved", "group.deleted", "group.permissions_changed",
                 "otp.device_saved", "otp.device_deleted")
_REFUND_CREATED = "refund.created"
_EXPORT_PREFIX = "compliance.export"
_REPORT_DOWNLOADED = "compliance.audit_report_downloaded"


def _names(actions: tuple[str, ...] | list[str]) -> list[str]:
    return sorted({name for action in actions for name in action_names(action)})


def _role_actions() -> list[str]:
    # Any later action about roles or permissions counts too (declared names only).
    declared = [name for name in declared_actions() if "role" in name or "permission" in name]
    return _names([*_ROLE_CHANGES, *declared])


def large_refund_thresholds() -> dict[str, int]:
    """Currency -> the large-refund threshold in minor units (every supported currency)."""
    configured = settings.AUDIT_REPORT_LARGE_REFUND
    thresholds = {}
    for currency, exp in CURRENCY_EXPONENTS.items():
        major = Decimal(str(configured.get(currency, configured["*"])))
        thresholds[currency] = int(major.scaleb(exp))
    return thresholds


def _large_refund_q() -> Q:
    by_minor: dict[int, list[str]] = {}
    for currency, minor in large_refund_thresholds().items():
        by_minor.setdefault(minor, []).append(currency)
    over = Q()
    for minor, currencies in sorted(by_minor.items()):
        over |= Q(report_currency__in=sorted(currencies), report_amount__gte=minor)
    return Q(action__in=_names([_REFUND_CREATED])) & over


def _off_hours_q() -> Q:
    start, end = settings.AUDIT_REPORT_BUSINESS_HOURS
    days = list(settings.AUDIT_REPORT_BUSINESS_DAYS)
    return Q(actor_type="user") & (~Q(report_weekday__in=days) | Q(report_hour__lt=start) | Q(report_hour__gte=end))


def _exception_filters() -> dict[str, Q]:
    return {
        "large_refunds": _large_refund_q(),
        "manual_adjustments": Q(action__in=_names(_MANUAL_ADJUSTMENTS)),
        "approval_decisions": Q(action__in=_names(_APPROVAL_DECISIONS)),
        "failed_logins": Q(action__in=_names(_FAILED_LOGINS)),
        "role_changes": Q(action__in=_role_actions()),
        "off_hours_staff_activity": _off_hours_q(),
        "exports": Q(action__startswith=_EXPORT_PREFIX) | Q(action__in=_names([_REPORT_DOWNLOADED])),
    }


def period_bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start 00:00 UTC, the day after end 00:00 UTC): `end` is inclusive."""
    return (dt.datetime.combine(start, dt.time(), tzinfo=dt.UTC),
            dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC))


def _annotated(events: QuerySet[AuditEvent]) -> QuerySet[Any]:  # with report_* annotations
    return events.annotate(report_amount=_amount_expression(), report_currency=_currency_expression(),
                           report_hour=ExtractHour("occurred_at", tzinfo=dt.UTC),
                           report_weekday=ExtractIsoWeekDay("occurred_at", tzinfo=dt.UTC))


def _by_action(events: QuerySet[AuditEvent]) -> tuple[list[dict[str, Any]], dict[str, int]]:
    actions: dict[str, dict[str, Any]] = {}
    outcomes = {outcome: 0 for outcome in AuditEvent.Outcome.values}
    for row in events.order_by().values("action", "outcome").annotate(n=Count("pk")):
        action = canonical_action(row["action"])
        entry = actions.setdefault(action, {"action": action, "count": 0,
                                            "outcomes": {outcome: 0 for outcome in AuditEvent.Outcome.values}})
        entry["count"] += row["n"]
        entry["outcomes"][row["outcome"]] = entry["outcomes"].get(row["outcome"], 0) + row["n"]
        outcomes[row["outcome"]] = outcomes.get(row["outcome"], 0) + row["n"]
    return sorted(actions.values(), key=lambda e: (-e["count"], e["action"])), outcomes


def _by_actor(events: QuerySet[AuditEvent]) -> list[dict[str, Any]]:
    rows = (events.order_by().values("actor_type", "actor_id")
            .annotate(n=Count("pk"), label=Max("actor_label")).order_by("-n", "actor_type", "actor_id"))
    return [{"type": r["actor_type"], "id": r["actor_id"], "label": r["label"], "count": r["n"]} for r in rows]


def _money_totals(events: QuerySet[AuditEvent]) -> list[dict[str, Any]]:
    rows = (_annotated(events).filter(report_amount__isnull=False, report_currency__isnull=False)
            .order_by().values("action", "report_currency")
            .annotate(n=Count("pk"), total=Sum("report_amount")))
    totals: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        currency = row["report_currency"]
        if currency not in CURRENCY_EXPONENTS:
            continue  # not an amount we can state as money
        key = (canonical_action(row["action"]), currency)
        entry = totals.setdefault(key, {"action": key[0], "currency": currency, "count": 0, "minor": 0})
        entry["count"] += row["n"]
        entry["minor"] += int(row["total"])
    return [{"action": e["action"], "currency": e["currency"], "count": e["count"],
             "total": format_amount(e["minor"], e["currency"])}
            for e in sorted(totals.values(), key=lambda e: (e["action"], e["currency"]))]


def _exceptions(events: QuerySet[AuditEvent]) -> list[dict[str, Any]]:
    annotated = _annotated(events)
    filters = _exception_filters()
    counts = annotated.aggregate(**{kind: Count("pk", filter=q) for kind, q in filters.items()})
    cap = settings.AUDIT_REPORT_EVENTS_PER_EXCEPTION
    found = []
    for kind in EXCEPTION_KINDS:
        count = counts[kind.kind] or 0
        ids = (list(annotated.filter(filters[kind.kind]).order_by("-occurred_at", "-pk")
                    .values_list("pk", flat=True)[:cap]) if count else [])
        found.append({"kind": kind.kind, "title": kind.title, "count": count, "event_ids": ids,
                      "more": max(count - len(ids), 0)})
    return found


def audit_report(*, start: dt.date, end: dt.date) -> dict[str, Any]:
    """The audit report of the UTC days start..end (inclusive)."""
    since, until = period_bounds(start, end)
    events = AuditEvent.objects.filter(occurred_at__gte=since, occurred_at__lt=until)
    by_action, by_outcome = _by_action(events)
    return {
        "period": {"from": start.isoformat(), "to": end.isoformat(), "starts_at": clock.isoformat(since),
                   "ends_before": clock.isoformat(until)},
        "generated_at": clock.isoformat(clock.now()),
        "total_events": sum(by_outcome.values()),
        "by_outcome": by_outcome,
        "by_action": by_action,
        "by_actor": _by_actor(events),
        "money_totals": _money_totals(events),
        "exceptions": _exceptions(events),
    }


CSV_HEADER = ("section", "key", "count", "total")


def audit_report_rows(report: dict[str, Any]) -> list[tuple[str, str, int, str]]:
    """The report as flat rows (section, key, count, total): what the CSV holds."""
    rows: list[tuple[str, str, int, str]] = [
        ("period", f"{report['period']['from']}..{report['period']['to']}", report["total_events"], "")]
    rows += [("outcome", outcome, count, "") for outcome, count in report["by_outcome"].items()]
    rows += [("action", entry["action"], entry["count"], "") for entry in report["by_action"]]
    rows += [("actor", _actor_key(a), a["count"], "") for a in report["by_actor"]]
    rows += [("money", f"{m['action']} {m['currency']}", m["count"], m["total"]) for m in report["money_totals"]]
    rows += [("exception", e["kind"], e["count"], "") for e in report["exceptions"]]
    return rows


def _actor_key(actor: dict[str, Any]) -> str:
    key = f"{actor['type']}:{actor['id']}"
    return key if actor["label"] in ("", actor["id"]) else f"{key} ({actor['label']})"


def audit_report_csv(report: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for section, key, count, total in audit_report_rows(report):
        writer.writerow([section, _csv_safe(key), count, total])
    return out.getvalue()


def _csv_safe(text: str) -> str:
    # A cell a spreadsheet would run as a formula (a label chosen by a user) is quoted as text.
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
