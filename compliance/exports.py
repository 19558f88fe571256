"""What an export writes: for each kind, its rows for a period in (created, id) order, as CSV or JSON Lines.

Each kind declares its columns once (`COLUMNS`), the query of its period and how a row is rendered:
money as decimal strings next to the currency, times as `...Z`, personal data masked unless the export
includes it (`compliance.masking`). Card data never appears: payments carry only the brand, country and
last four digits already stored. Rows are read with `.iterator(chunk_size=...)` and written as they come,
so an export of millions of rows holds one chunk in memory; `on_chunk(rows_written)` is called after each.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db.models import Model, QuerySet

from core import clock
from core.money import format_amount

from .masking import mask_email, mask_emails_in, mask_ip, mask_name

Row = dict[str, Any]

COLUMNS: dict[str, tuple[str, ...]] = {
    "audit_events": ("id", "seq", "occurred_at", "action", "outcome", "actor_type", "actor_id", "actor_label",
                     "object_type", "object_id", "request_id", "ip_address", "user_agent", "details"),
    "payments": ("id", "created", "updated", "customer_id", "status", "amount", "currency", "method",
                 "payment_method", "card_brand", "card_country", "card_last4", "capture_method", "amount_captured",
                 "amount_refunded", "fee_amount", "provider", "provider_reference", "failure_code", "description",
                 "merchant_reference", "ip_address", "ip_country", "channel", "risk_score", "risk_decision",
                 "review_status"),
    "refunds": ("id", "created", "updated", "payment_id", "status", "amount", "currency", "reason", "note",
                "failure_reason", "provider_reference", "journal_id"),
    "ledger_entries": ("journal_id", "posting_id", "kind", "account", "direction", "amount", "currency", "created"),
    "customers": ("id", "created", "updated", "email", "name", "country", "status", "kyc_status"),
}
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson; charset=utf-8"}


def day_bounds(first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[first 00:00 UTC, the day after last 00:00 UTC): the period's half-open range of instants."""
    start = dt.datetime.combine(first, dt.time(), tzinfo=dt.UTC)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    return start, end


def _money(minor: int | None, currency: str) -> str | None:
    return None if minor is None else format_amount(minor, currency)


def _masked_details(value: Any) -> Any:
    """E-mail addresses anywhere inside an audit event's details masked (keys kept)."""
    if isinstance(value, dict):
        return {key: _masked_details(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_masked_details(item) for item in value]
    if isinstance(value, str):
        return mask_emails_in(value)
    return value


def _sorted(value: Any) -> Any:
    """Objects with their keys in order at every depth (PostgreSQL's jsonb keeps its own order)."""
    if isinstance(value, dict):
        return {key: _sorted(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted(item) for item in value]
    return value


def _audit_event(event: Any, pii: bool) -> Row:
    ip = str(event.ip_address) if event.ip_address else None
    return {
        "id": event.id, "seq": event.seq, "occurred_at": clock.isoformat(event.occurred_at), "action": event.action,
        "outcome": event.outcome, "actor_type": event.actor_type, "actor_id": event.actor_id,
        "actor_label": event.actor_label if pii else mask_emails_in(event.actor_label),
        "object_type": event.object_type, "object_id": event.object_id, "request_id": event.request_id,
        "ip_address": ip if pii or ip is None else mask_ip(ip), "user_agent": event.user_agent,
        "details": _sorted(event.details if pii else _masked_details(event.details)),
    }


def _payment(p: Any, pii: bool) -> Row:
    ip = str(p.ip_address) if p.ip_address else None
    return {
        "id": p.id, "created": clock.isoformat(p.created), "updated": clock.isoformat(p.updated),
        "customer_id": p.customer_id, "status": p.status, "amount": _money(p.amount, p.currency),
        "currency": p.currency, "method": p.method, "payment_method": p.payment_method, "card_brand": p.card_brand,
        "card_country": p.card_country, "card_last4": p.card_last4, "capture_method": p.capture_method,
        "amount_captured": _money(p.amount_captured, p.currency),
        "amount_refunded": _money(p.amount_refunded, p.currency), "fee_amount": _money(p.fee_amount, p.currency),
        "provider": p.provider, "provider_reference": p.provider_reference, "failure_code": p.failure_code,
        "description": p.description if pii else mask_emails_in(p.description),
        "merchant_reference": p.merchant_reference, "ip_address": ip if pii or ip is None else mask_ip(ip),
        "ip_country": p.ip_country, "channel": p.channel, "risk_score": p.risk_score,
        "risk_decision": p.risk_decision, "review_status": p.review_status,
    }


def _refund(r: Any, pii: bool) -> Row:
    return {
        "id": r.id, "created": clock.isoformat(r.created), "updated": clock.isoformat(r.updated),
        "payment_id": r.payment_id, "status": r.status, "amount": _money(r.amount, r.currency),
        "currency": r.currency, "reason": r.reason, "note": r.note if pii else mask_emails_in(r.note),
        "failure_reason": r.failure_reason, "provider_reference": r.provider_reference, "journal_id": r.entry_id,
    }


def _posting(p: Any, pii: bool) -> Row:
    # "debit": the money left the account (a negative posting), "credit": it entered.
    return {
        "journal_id": p.entry_id, "posting_id": p.id, "kind": p.kind,
        "account": f"{p.account_type}:{p.account_owner}:{p.currency}",
        "direction": "debit" if p.amount < 0 else "credit", "amount": _money(abs(p.amount), p.currency),
        "currency": p.currency, "created": clock.isoformat(p.created),
    }


def _customer(c: Any, pii: bool) -> Row:
    return {
        "id": c.id, "created": clock.isoformat(c.created), "updated": clock.isoformat(c.updated),
        "email": c.email if pii else mask_email(c.email), "name": c.name if pii else mask_name(c.name),
        "country": c.country, "status": c.status, "kyc_status": c.kyc_status,
    }


@dataclass(frozen=True)
class Kind:
    queryset: Callable[[dt.datetime, dt.datetime], QuerySet[Any]]
    render: Callable[[Any, bool], Row]


def _audit_events(start: dt.datetime, end: dt.datetime) -> QuerySet[Any]:
    from core.models import AuditEvent

    return AuditEvent.objects.filter(occurred_at__gte=start, occurred_at__lt=end).order_by("occurred_at", "id")


def _payments(start: dt.datetime, end: dt.datetime) -> QuerySet[Any]:
    from payments.models import Payment

    return Payment.objects.filter(created__gte=start, created__lt=end).order_by("created", "id")


def _refunds(start: dt.datetime, end: dt.datetime) -> QuerySet[Any]:
    from payments.models import Refund

    return Refund.objects.filter(created__gte=start, created__lt=end).order_by("created", "id")


def _postings(start: dt.datetime, end: dt.datetime) -> QuerySet[Any]:
    from django.db.models import F

    from wallets.models import Posting

    return (Posting.objects.filter(created__gte=start, created__lt=end)
            .annotate(account_type=F("account__account_type"), account_owner=F("account__owner"))
            .order_by("created", "id"))


def _customers(start: dt.datetime, end: dt.datetime) -> QuerySet[Any]:
    from accounts.models import Customer

    return Customer.objects.filter(created__gte=start, created__lt=end).order_by("created", "id")


KINDS: dict[str, Kind] = {
    "audit_events": Kind(_audit_events, _audit_event),
    "payments": Kind(_payments, _payment),
    "refunds": Kind(_refunds, _refund),
    "ledger_entries": Kind(_postings, _posting),
    "customers": Kind(_customers, _customer),
}


def export_queryset(kind: str, first: dt.date, last: dt.date) -> QuerySet[Any]:
    return KINDS[kind].queryset(*day_bounds(first, last))


def rows(kind: str, first: dt.date, last: dt.date, *, include_pii: bool,
         chunk_size: int | None = None) -> Iterator[Row]:
    render = KINDS[kind].render
    chunk = chunk_size or settings.COMPLIANCE_EXPORT_CHUNK_SIZE
    for obj in export_queryset(kind, first, last).iterator(chunk_size=chunk):
        yield render(obj, include_pii)


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return str(value)


class Writer:
    """Encodes rows to one format, counting bytes and hashing as it writes to `out` (binary)."""

    def __init__(self, kind: str, fmt: str, out: IO[bytes]) -> None:
        self.columns = COLUMNS[kind]
        self.fmt = fmt
        self.out = out
        self.digest = hashlib.sha256()
        self.size = 0
        self._text = io.StringIO()
        self._csv = csv.writer(self._text, lineterminator="\r\n")
        if fmt == "csv":
            self._csv.writerow(self.columns)
            self._flush()

    def write(self, row: Row) -> None:
        if self.fmt == "csv":
            self._csv.writerow([_csv_value(row[name]) for name in self.columns])
        else:
            self._text.write(json.dumps({name: row[name] for name in self.columns}, ensure_ascii=False,
                                        separators=(",", ":")) + "\n")

    def _flush(self) -> None:
        data = self._text.getvalue().encode("utf-8")
        self._text.seek(0)
        self._text.truncate()
        self.out.write(data)
        self.digest.update(data)
        self.size += len(data)

    def flush(self) -> None:
        self._flush()


def write_export(kind: str, fmt: str, first: dt.date, last: dt.date, *, include_pii: bool, path: Path,
                 on_chunk: Callable[[int], None], chunk_size: int | None = None) -> tuple[int, int, str]:
    """Writes the export to `path` (through `path.part`, renamed when complete); returns
    (rows written, size in bytes, sha256 hex). `on_chunk(rows_written)` after every chunk."""
    chunk = chunk_size or settings.COMPLIANCE_EXPORT_CHUNK_SIZE
    part = path.with_name(path.name + ".part")
    path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    try:
        with part.open("wb") as out:
            writer = Writer(kind, fmt, out)
            for row in rows(kind, first, last, include_pii=include_pii, chunk_size=chunk):
                writer.write(row)
                written += 1
                if written % chunk == 0:
                    writer.flush()
                    on_chunk(written)
            writer.flush()
        part.replace(path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return written, writer.size, writer.digest.hexdigest()


def export_dir() -> Path:
    return Path(settings.COMPLIANCE_EXPORT_DIR)


def file_name(export: Model) -> str:
    return f"{export.pk}.{export.format}"  # type: ignore[attr-defined]  # a ComplianceExport
