"""Custom reports over payments and refunds: metrics, dimensions, filters and a period chosen from the lists
below (docs/dashboards/reports.md). A definition is validated against these whitelists and turned into ORM
aggregations; nothing a caller sends reaches SQL except as a bound value.

A definition is a dict: `metrics` (1+ names), `dimensions` (0-3 names), `filters` ({name: [values]}), `from` and
`to` (UTC days, `to` inclusive, at most 366 days) and `limit` (rows, 1-1000, default 100).

Payment metrics count payments created in the period; refund metrics count refunds created in the period, their
other dimensions and filters being those of the refunded payment. Money metrics are per currency: when one is
asked and `currency` is not a dimension, it is added.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import TruncDay, TruncMonth, TruncWeek

from core.money import CURRENCY_CHOICES
from monitoring.dashboards.charts import Column, plain
from monitoring.dashboards.period import Period
from monitoring.errors_reports import (
    ReportDefinitionInvalid,
    ReportDimensionUnknown,
    ReportFilterUnknown,
    ReportMetricUnknown,
)
from payments.models import Payment, Refund
from subscriptions.proration import round_half_up_ratio

from . import rate

MAX_DAYS = 366
MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
MAX_DIMENSIONS = 3
MAX_FILTER_VALUES = 50
_SUCCEEDED = Q(status=Payment.Status.SUCCEEDED)
_FINISHED = Q(status__in=[Payment.Status.SUCCEEDED, Payment.Status.FAILED])
_REFUNDED = ~Q(status=Refund.Status.FAILED)


@dataclass(frozen=True)
class Metric:
    label: str
    kind: str  # a charts.Column kind: int, money, rate
    source: str  # "payments" or "refunds"
    description: str


METRICS: dict[str, Metric] = {
    "payment_count": Metric("Payments", "int", "payments", "Payments created in the period, any status."),
    "succeeded_count": Metric("Succeeded", "int", "payments", "Payments created in the period that succeeded."),
    "failed_count": Metric("Failed", "int", "payments", "Payments created in the period that failed."),
    "gross_volume": Metric(
        "Gross volume", "money", "payments", "Amount captured of the payments created in the period."
    ),
    "success_rate": Metric(
        "Success rate",
        "rate",
        "payments",
        "succeeded / (succeeded + failed), a fraction; empty without a finished payment.",
    ),
    "average_amount": Metric(
        "Average amount", "money", "payments", "Mean amount of the succeeded payments (minor units rounded half up)."
    ),
    "fee_amount": Metric("Fees", "money", "payments", "Fees charged on the payments created in the period."),
    "refund_count": Metric("Refunds", "int", "refunds", "Refunds created in the period, not failed."),
    "refunded_amount": Metric(
        "Refunded", "money", "refunds", "Amount of the refunds created in the period, not failed."
    ),
}

# name -> (label, column kind, payment field path; None for time buckets)
DIMENSIONS: dict[str, tuple[str, str]] = {
    "day": ("Day", "date"),
    "week": ("Week (Monday)", "date"),
    "month": ("Month", "date"),
    "currency": ("Currency", "text"),
    "method": ("Method", "text"),
    "provider": ("Provider", "text"),
    "status": ("Payment status", "text"),
    "card_brand": ("Card brand", "text"),
    "card_country": ("Card country", "text"),
    "risk_level": ("Risk level", "text"),
}
TIME_DIMENSIONS = {"day": TruncDay, "week": TruncWeek, "month": TruncMonth}
_CURRENCIES = sorted(code for code, _ in CURRENCY_CHOICES)
# name -> (payment field, allowed values or None for free text up to 40 characters)
FILTERS: dict[str, tuple[str, list[str] | None]] = {
    "currency": ("currency", _CURRENCIES),
    "method": ("method", [m.value for m in Payment.Method]),
    "provider": ("provider", None),
    "status": ("status", [s.value for s in Payment.Status]),
    "country": ("card_country", None),
}


@dataclass(frozen=True)
class Definition:
    metrics: list[str]
    dimensions: list[str]
    filters: dict[str, list[str]]
    start: dt.date
    end: dt.date
    limit: int

    @property
    def period(self) -> Period:
        """The report's days as the dashboards' period (its currency filter is one of `filters`)."""
        return Period(self.start, self.end)

    @property
    def grouping(self) -> list[str]:
        """The dimensions rows are grouped by: the asked ones, plus currency for money metrics."""
        money = any(METRICS[m].kind == "money" for m in self.metrics)
        return [*self.dimensions, "currency"] if money and "currency" not in self.dimensions else list(self.dimensions)

    def as_dict(self) -> dict[str, Any]:
        return {
            "metrics": self.metrics,
            "dimensions": self.dimensions,
            "filters": self.filters,
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "limit": self.limit,
        }


@dataclass
class Report:
    definition: Definition
    columns: list[Column]
    rows: list[dict[str, Any]] = field(default_factory=list)
    truncated: bool = False


def _names(value: Any, name: str) -> list[str]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ReportDefinitionInvalid(f"{name} must be a list of names.", details={"field": name})
    out: list[str] = []
    for item in value:
        if item not in out:
            out.append(item)
    return out


def _date(value: Any, name: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str) or len(value) != 10:
        raise ReportDefinitionInvalid(f"{name} must be a date written YYYY-MM-DD.", details={"field": name})
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ReportDefinitionInvalid(f"{name} must be a date written YYYY-MM-DD.", details={"field": name}) from None


def _filters(value: Any) -> dict[str, list[str]]:
    if value in (None, {}):
        return {}
    if not isinstance(value, dict):
        raise ReportDefinitionInvalid("filters must be an object of name: [values].", details={"field": "filters"})
    unknown = sorted(k for k in value if k not in FILTERS)
    if unknown:
        raise ReportFilterUnknown(
            f"Unknown filter: {', '.join(unknown)[:200]}.",
            details={"field": "filters", "unknown": unknown[:10], "allowed": list(FILTERS)},
        )
    out: dict[str, list[str]] = {}
    for name in FILTERS:
        if name not in value:
            continue
        raw = value[name]
        values = [raw] if isinstance(raw, str) else raw
        values = _names(values, f"filters.{name}")
        allowed = FILTERS[name][1]
        if not values or len(values) > MAX_FILTER_VALUES:
            raise ReportDefinitionInvalid(
                f"filters.{name} takes 1 to {MAX_FILTER_VALUES} values.", details={"field": f"filters.{name}"}
            )
        if name == "currency":
            values = [v.upper() for v in values]
        bad = [v for v in values if (v not in allowed if allowed is not None else not 0 < len(v) <= 40)]
        if bad:
            details: dict[str, Any] = {"field": f"filters.{name}"}
            if allowed is not None:
                details["allowed"] = allowed
            raise ReportDefinitionInvalid(f"filters.{name} has values that are not allowed.", details=details)
        out[name] = values
    return out


def validate_definition(data: Any) -> Definition:
    """The definition, checked against the whitelists; refusals name the field and list what is allowed."""
    if not isinstance(data, dict):
        raise ReportDefinitionInvalid("A report definition is an object.", details={"field": "definition"})
    allowed_keys = {"metrics", "dimensions", "filters", "from", "to", "limit"}
    extra = sorted(str(k)[:40] for k in data if k not in allowed_keys)
    if extra:
        raise ReportDefinitionInvalid(
            f"Unknown fields: {', '.join(extra)[:200]}.", details={"field": extra[0], "allowed": sorted(allowed_keys)}
        )
    metrics = _names(data.get("metrics", []), "metrics")
    if not metrics:
        raise ReportDefinitionInvalid(
            "Choose at least one metric.", details={"field": "metrics", "allowed": list(METRICS)}
        )
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise ReportMetricUnknown(
            f"Unknown metric: {', '.join(unknown)[:200]}.",
            details={"field": "metrics", "unknown": [u[:40] for u in unknown[:10]], "allowed": list(METRICS)},
        )
    dimensions = _names(data.get("dimensions", []), "dimensions")
    unknown = [d for d in dimensions if d not in DIMENSIONS]
    if unknown:
        raise ReportDimensionUnknown(
            f"Unknown dimension: {', '.join(unknown)[:200]}.",
            details={"field": "dimensions", "unknown": [u[:40] for u in unknown[:10]], "allowed": list(DIMENSIONS)},
        )
    if len(dimensions) > MAX_DIMENSIONS:
        raise ReportDefinitionInvalid(f"At most {MAX_DIMENSIONS} dimensions.", details={"field": "dimensions"})
    if len([d for d in dimensions if d in TIME_DIMENSIONS]) > 1:
        raise ReportDefinitionInvalid("Choose one of day, week and month.", details={"field": "dimensions"})
    filters = _filters(data.get("filters"))
    if "from" not in data or "to" not in data:
        raise ReportDefinitionInvalid(
            "from and to are required.", details={"field": "from" if "from" not in data else "to"}
        )
    start, end = _date(data["from"], "from"), _date(data["to"], "to")
    if start > end:
        raise ReportDefinitionInvalid("from must be on or before to.", details={"field": "from"})
    if (end - start).days + 1 > MAX_DAYS:
        raise ReportDefinitionInvalid(f"A report covers at most {MAX_DAYS} days.", details={"field": "from"})
    limit = data.get("limit", DEFAULT_LIMIT)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ReportDefinitionInvalid(f"limit is a whole number from 1 to {MAX_LIMIT}.", details={"field": "limit"})
    return Definition(metrics, dimensions, filters, start, end, limit)


def _grouped(queryset: QuerySet, prefix: str, definition: Definition, created: str) -> QuerySet:
    """Filters and group-by columns on payments (prefix "") or refunds (prefix "payment__")."""
    for name, values in definition.filters.items():
        queryset = queryset.filter(**{f"{prefix}{FILTERS[name][0]}__in": values})
    keys: dict[str, Any] = {}
    for name in definition.grouping:
        if name in TIME_DIMENSIONS:
            keys[f"d_{name}"] = TIME_DIMENSIONS[name](created, tzinfo=dt.UTC)
        else:
            keys[f"d_{name}"] = _field(prefix, name)
    return queryset.annotate(**keys).values(*keys) if keys else queryset


def _field(prefix: str, name: str) -> F:
    return F(f"{prefix}{name}")


def _payment_aggregates(metrics: list[str]) -> dict[str, Any]:
    wanted: dict[str, Any] = {}
    if "payment_count" in metrics:
        wanted["payment_count"] = Count("id")
    if {"succeeded_count", "success_rate", "average_amount"} & set(metrics):
        wanted["succeeded_count"] = Count("id", filter=_SUCCEEDED)
    if "failed_count" in metrics:
        wanted["failed_count"] = Count("id", filter=Q(status=Payment.Status.FAILED))
    if "success_rate" in metrics:
        wanted["_finished"] = Count("id", filter=_FINISHED)
    if "gross_volume" in metrics:
        wanted["gross_volume"] = Sum("amount_captured")
    if "average_amount" in metrics:
        wanted["_succeeded_amount"] = Sum("amount", filter=_SUCCEEDED)
    if "fee_amount" in metrics:
        wanted["fee_amount"] = Sum("fee_amount")
    return wanted


def _key(row: dict[str, Any], grouping: list[str]) -> tuple:
    return tuple(row[f"d_{name}"] for name in grouping)


def _label(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).date().isoformat()
    return value


def _finish(values: dict[str, Any], metrics: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in metrics:
        if name == "success_rate":
            out[name] = rate(values.get("succeeded_count") or 0, values.get("_finished") or 0)
        elif name == "average_amount":
            count, total = values.get("succeeded_count") or 0, values.get("_succeeded_amount") or 0
            out[name] = round_half_up_ratio(total, count) if count else None
        else:
            out[name] = values.get(name) or 0
    return out


def report_run(definition: Definition) -> Report:
    """Runs a validated definition: one aggregate query per source (payments, refunds), merged by group."""
    grouping = definition.grouping
    merged: dict[tuple, dict[str, Any]] = {}
    payment_metrics = [m for m in definition.metrics if METRICS[m].source == "payments"]
    refund_metrics = [m for m in definition.metrics if METRICS[m].source == "refunds"]
    if payment_metrics:
        payments = Payment.objects.filter(definition.period.within(currency_field=None))
        rows = _grouped(payments, "", definition, "created")
        aggregates = _payment_aggregates(payment_metrics)
        found = rows.annotate(**aggregates) if grouping else [rows.aggregate(**aggregates)]
        for row in found:
            merged.setdefault(_key(row, grouping), {}).update(row)
    if refund_metrics:
        refunds = Refund.objects.filter(_REFUNDED, definition.period.within(currency_field=None))
        rows = _grouped(refunds, "payment__", definition, "created")
        refund_aggregates: dict[str, Any] = {"refund_count": Count("id"), "refunded_amount": Sum("amount")}
        found = rows.annotate(**refund_aggregates) if grouping else [rows.aggregate(**refund_aggregates)]
        for row in found:
            merged.setdefault(_key(row, grouping), {}).update(row)
    ordered = sorted(merged.items(), key=lambda item: tuple((v is None, str(_label(v))) for v in item[0]))
    rows_out = [
        {
            **{name: _label(value) for name, value in zip(grouping, key, strict=True)},
            **_finish(values, definition.metrics),
        }
        for key, values in ordered
    ]
    columns = [Column(name, DIMENSIONS[name][0], DIMENSIONS[name][1]) for name in grouping]
    columns += [Column(name, METRICS[name].label, METRICS[name].kind) for name in definition.metrics]
    return Report(definition, columns, rows_out[: definition.limit], truncated=len(rows_out) > definition.limit)


def report_generate(data: Any) -> Report:
    return report_run(validate_definition(data))


def report_output(report: Report) -> dict[str, Any]:
    """The report as the API answers it: money as decimal strings beside the row's currency, rates as decimal
    strings, counts as integers, dates as YYYY-MM-DD."""
    rows = []
    for row in report.rows:
        out: dict[str, Any] = {}
        for column in report.columns:
            value = row.get(column.key)
            if value is None:
                out[column.key] = None
            elif column.kind == "int":
                out[column.key] = int(value)
            elif column.kind in ("money", "rate"):
                out[column.key] = plain(column, row)
            else:
                out[column.key] = str(value)
        rows.append(out)
    return {
        "definition": report.definition.as_dict(),
        "columns": [{"key": c.key, "label": c.label, "kind": c.kind} for c in report.columns],
        "rows": rows,
        "truncated": report.truncated,
    }
