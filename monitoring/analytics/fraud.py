"""Fraud analytics: how the risk model scored and decided the payments of a period, the review queue, what the
labels say it caught and missed, the fraud model versions with their stored metrics, and the rules and
reasons behind the flagged payments.

Definitions (payments created in the period, of `period.currency` when set):
- decision: the stored `risk_decision` (allow, review, block; empty when the payment was not scored).
- caught: labelled fraud (`fraud_label` true) and decided review or block; missed: labelled fraud and allowed;
  false positive: labelled legitimate (`fraud_label` false) and decided review or block; correctly allowed:
  labelled legitimate and allowed. Recall = caught / (caught + missed); precision = caught / (caught + false
  positives). Unlabelled payments are in none of these.
- review queue (now, whatever the period): payments held for review (`review_status` pending) still awaiting
  capture, as `get_review_queue` lists them.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.db import connection
from django.db.models import Case, Count, F, IntegerField, Min, Q, Value, When
from django.db.models.functions import Least, TruncDate

from core.models import MLModel
from monitoring.dashboards.period import Period
from payments.models import Payment
from payments.risk.selectors import review_queue_payments

from . import rate

FLAGGED = ("review", "block")
DECISIONS = ("allow", "review", "block")
BUCKET = 10  # score points per histogram bucket; the last bucket holds 90-100
LAST_BUCKET = 9
QUEUE_LIMIT = 50
MODELS_LIMIT = 20
PATTERNS_LIMIT = 20
MODEL_NAME = "fraud"
# The stored metrics (payments/risk/metrics.py `evaluate`) shown for each model version.
METRIC_KEYS = ("auprc", "roc_auc", "recall_at_1pct_fpr", "precision_at_100")


def _payments(period: Period):
    return Payment.objects.filter(period.within())


def scored_groups(period: Period) -> list[dict]:
    """The payments of the period and the previous one counted per (UTC day, decision, score bucket, model
    version): one scan that the distribution, the decisions by day, the totals and the models' use of the
    period are all summed from (a few hundred rows). Bucket None: not scored."""
    # LEAST skips NULLs on PostgreSQL (an unscored payment would join the 90s) and not on SQLite: say it.
    bucket = Case(When(risk_score__isnull=False, then=Least(F("risk_score") / BUCKET, Value(LAST_BUCKET))),
                  default=None, output_field=IntegerField())
    return list(_payments(period.with_previous()).annotate(day=TruncDate("created"), bucket=bucket)
                .values("day", "risk_decision", "bucket", "risk_model_version").annotate(n=Count("pk")).order_by())


def _in(period: Period, groups: list[dict] | None) -> list[dict]:
    """The groups of `period` itself (computed when the caller has none)."""
    groups = scored_groups(period) if groups is None else groups
    return [g for g in groups if g["day"] >= period.start]


def score_distribution(period: Period, groups: list[dict] | None = None) -> list[dict]:
    """Scored payments per score bucket (0-9, 10-19, ..., 90-100) with how many were flagged; [] when none
    (a score of 100 joins the 90s)."""
    counts: dict[int, list[int]] = {}
    for g in _in(period, groups):
        if g["bucket"] is not None:
            count = counts.setdefault(int(g["bucket"]), [0, 0])
            count[0] += g["n"]
            count[1] += g["n"] if g["risk_decision"] in FLAGGED else 0
    if not counts:
        return []
    out = []
    for index in range(LAST_BUCKET + 1):
        low = index * BUCKET
        high = 100 if index == LAST_BUCKET else low + BUCKET - 1
        payments, flagged = counts.get(index, (0, 0))
        out.append({"bucket": f"{low}-{high}", "payments": payments, "flagged": flagged})
    return out


def decisions_by_day(period: Period, groups: list[dict] | None = None) -> list[dict]:
    """Per UTC day with payments: how many were allowed, held for review, blocked, and not scored."""
    days: dict[dt.date, dict] = {}
    for g in _in(period, groups):
        row = days.setdefault(g["day"], {"day": g["day"].isoformat(), "allow": 0, "review": 0, "block": 0,
                                         "unscored": 0})
        row[g["risk_decision"] if g["risk_decision"] in DECISIONS else "unscored"] += g["n"]
    return [days[d] for d in sorted(days)]


def decision_totals(period: Period, groups: list[dict] | None = None) -> dict:
    """Scored payments and how many were held for review or blocked, in the period and the previous one."""
    groups = scored_groups(period) if groups is None else groups
    totals = dict.fromkeys(("scored", "previous_scored", "review", "previous_review", "block", "previous_block"), 0)
    for g in groups:
        prefix = "" if g["day"] >= period.start else "previous_"
        if g["bucket"] is not None:
            totals[f"{prefix}scored"] += g["n"]
        if g["risk_decision"] in ("review", "block"):
            totals[f"{prefix}{g['risk_decision']}"] += g["n"]
    return totals


def review_queue(period: Period, *, limit: int = QUEUE_LIMIT) -> dict:
    """The review queue now: its size, its oldest payment's creation, and the oldest `limit` payments."""
    queue = review_queue_payments(currency=period.currency)
    summary = queue.aggregate(count=Count("pk"), oldest=Min("created"))
    rows = list(queue.order_by("created", "id").values(
        "id", "created", "customer_id", "amount", "currency", "risk_score", "risk_reasons", "risk_rules_fired")
        [:limit])
    return {"count": summary["count"], "oldest": summary["oldest"], "payments": rows}


def label_outcomes(period: Period) -> dict:
    """Labelled payments of the period by what the risk decision did with them (definitions above)."""
    labelled = _payments(period).filter(fraud_label__isnull=False)
    fraud, legit = Q(fraud_label=True), Q(fraud_label=False)
    counts = labelled.aggregate(
        caught_block=Count("pk", filter=fraud & Q(risk_decision="block")),
        caught_review=Count("pk", filter=fraud & Q(risk_decision="review")),
        missed=Count("pk", filter=fraud & Q(risk_decision="allow")),
        false_positive=Count("pk", filter=legit & Q(risk_decision__in=FLAGGED)),
        correctly_allowed=Count("pk", filter=legit & Q(risk_decision="allow")))
    caught = counts["caught_block"] + counts["caught_review"]
    return {**counts, "caught": caught, "recall": rate(caught, caught + counts["missed"]),
            "precision": rate(caught, caught + counts["false_positive"])}


def model_versions(period: Period, *, limit: int = MODELS_LIMIT, groups: list[dict] | None = None) -> list[dict]:
    """The fraud model versions of the registry (latest first) with their stored held-out metrics and the
    rules baseline's AUPRC on the same payments, and how many payments of the period each scored."""
    models = list(MLModel.objects.filter(name=MODEL_NAME).order_by("-created", "-id")
                  .values("id", "version", "status", "created", "activated_at", "metrics")[:limit])
    used: dict[str, int] = defaultdict(int)
    for g in _in(period, groups):
        if g["bucket"] is not None:
            used[g["risk_model_version"]] += g["n"]
    rows = []
    for m in models:
        metrics = m["metrics"] or {}
        baseline = metrics.get("rules_baseline") or {}
        rows.append({"model_id": m["id"], "version": m["version"], "status": m["status"], "created": m["created"],
                     "activated_at": m["activated_at"],
                     **{key: _metric(metrics.get(key)) for key in METRIC_KEYS},
                     "rules_auprc": _metric(baseline.get("auprc")), "eval_rows": metrics.get("rows"),
                     "scored_in_period": used.get(m["version"], 0)})
    return rows


def _metric(value) -> Decimal | None:
    # Stored by the training job as JSON numbers rounded to 4 places; read back exactly as written.
    return None if value is None else Decimal(str(value))


def patterns(period: Period, *, limit: int = PATTERNS_LIMIT) -> dict:
    """The rules fired (`risk_rules_fired`) and the model's reasons (`risk_reasons`) of the payments flagged in
    the period (held for review or blocked), most frequent first, counted in the database."""
    return {"rules": _json_counts(period, "risk_rules_fired", limit),
            "reasons": _json_counts(period, "risk_reasons", limit)}


def _json_counts(period: Period, column: str, limit: int) -> list[dict]:
    """Counts of the strings in a JSON array column over the period's flagged payments, in one grouped query.
    The array is unnested by the database (jsonb_array_elements_text on PostgreSQL, json_each on SQLite), so
    only the counts leave it."""
    if column not in ("risk_rules_fired", "risk_reasons"):  # never caller text in the SQL
        raise ValueError(f"not a JSON list column of payments: {column!r}")
    table = Payment._meta.db_table
    if connection.vendor == "postgresql":
        unnest = f"jsonb_array_elements_text(p.{column}) AS item(value)"
    else:
        unnest = f"json_each(p.{column}) AS item"
    adapt = connection.ops.adapt_datetimefield_value
    params: list = [adapt(period.since), adapt(period.until)]
    currency = ""
    if period.currency:
        currency, params = " AND p.currency = %s", [*params, period.currency]
    sql = (f"SELECT item.value AS name, COUNT(*) AS n FROM {table} AS p, {unnest} "
           f"WHERE p.created >= %s AND p.created < %s AND p.risk_decision IN ('review', 'block'){currency} "
           f"GROUP BY item.value ORDER BY n DESC, name LIMIT {int(limit)}")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [{"name": str(name), "payments": n} for name, n in cursor.fetchall()]
