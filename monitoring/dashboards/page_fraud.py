"""Fraud: score distribution, decisions over time, review queue, caught and missed (from labels), model versions
and their metrics, current patterns."""

from __future__ import annotations

from core import clock
from monitoring.analytics import fraud as analytics

from .charts import Chart, Column, Page, Section, Tile, admin_url, changelist_url
from .period import Period
from .registry import register_page


@register_page("fraud", "Fraud", permission="payments.view_payment",
               description="How the risk model scored and decided the period's payments, the review queue now, "
                           "what the fraud labels say it caught and missed, the model versions with their stored "
                           "metrics, and the rules and reasons behind flagged payments.")
def build(period: Period) -> Page:
    groups = analytics.scored_groups(period)
    distribution = analytics.score_distribution(period, groups)
    decisions = analytics.decisions_by_day(period, groups)
    totals = analytics.decision_totals(period, groups)
    queue = analytics.review_queue(period)
    labels = analytics.label_outcomes(period)
    models = analytics.model_versions(period, groups=groups)
    patterns = analytics.patterns(period)

    queue_rows = [{**p, "url": admin_url("payments.payment", p["id"]),
                   "reasons": ", ".join(map(str, p["risk_reasons"] or [])),
                   "rules": ", ".join(map(str, p["risk_rules_fired"] or []))} for p in queue["payments"]]
    model_rows = [{**m, "url": admin_url("core.mlmodel", m["model_id"])} for m in models]
    label_rows = [] if not any(labels[k] for k in ("caught", "missed", "false_positive", "correctly_allowed")) else [
        {"outcome": "caught (blocked)", "payments": labels["caught_block"]},
        {"outcome": "caught (held for review)", "payments": labels["caught_review"]},
        {"outcome": "missed (allowed)", "payments": labels["missed"]},
        {"outcome": "false positive", "payments": labels["false_positive"]},
        {"outcome": "correctly allowed", "payments": labels["correctly_allowed"]}]
    active = next((m["version"] for m in models if m["status"] == "active"), None)
    oldest_age = None
    if queue["oldest"] is not None:
        oldest_age = clock.duration_text((clock.now() - queue["oldest"]).total_seconds())
    queue_url = changelist_url("payments.payment", review_status__exact="pending", status__exact="requires_capture")

    tiles = [
        Tile("scored", "Payments scored", totals["scored"], previous=totals["previous_scored"]),
        Tile("held_for_review", "Held for review", totals["review"], previous=totals["previous_review"],
             lower_is_better=True),
        Tile("blocked", "Blocked", totals["block"], previous=totals["previous_block"], lower_is_better=True),
    ]
    queue_tiles = [
        Tile("review_queue", "Review queue", queue["count"], url=queue_url, lower_is_better=True,
             detail=f"oldest waiting {oldest_age}" if oldest_age is not None else "empty"),
    ]
    label_tiles = [
        Tile("caught", "Fraud caught", labels["caught"]),
        Tile("missed", "Fraud missed", labels["missed"], lower_is_better=True),
        Tile("false_positives", "False positives", labels["false_positive"], lower_is_better=True),
        Tile("recall", "Recall", labels["recall"], "rate", detail="caught / labelled fraud"),
        Tile("precision", "Precision", labels["precision"], "rate", detail="caught / labelled fraud flagged"),
        Tile("active_model", "Active fraud model", active or "none", "text"),
    ]
    return Page("Fraud", sections=[Section("Risk decisions in the period", tiles),
                                   Section("Review queue now", queue_tiles),
                                   Section("From the fraud labels", label_tiles)], charts=[
        Chart("score_distribution", "Risk score distribution", "bar",
              [Column("bucket", "Score"), Column("payments", "Payments", "int"),
               Column("flagged", "Held or blocked", "int")],
              distribution, x="bucket", series=["payments", "flagged"], empty_text="No scored payments."),
        Chart("decisions_by_day", "Risk decisions by day", "stacked",
              [Column("day", "Day", "date"), Column("allow", "Allowed", "int"),
               Column("review", "Held for review", "int"), Column("block", "Blocked", "int"),
               Column("unscored", "Not scored", "int")],
              decisions, x="day", series=["allow", "review", "block", "unscored"]),
        Chart("review_queue", f"Review queue (oldest {analytics.QUEUE_LIMIT})", "table",
              [Column("id", "Payment", link_key="url"), Column("created", "Created", "date"),
               Column("customer_id", "Customer"), Column("currency", "Currency"),
               Column("amount", "Amount", "money"), Column("risk_score", "Score", "int"),
               Column("reasons", "Reasons"), Column("rules", "Rules fired")],
              queue_rows, empty_text="No payment is waiting for review."),
        Chart("label_outcomes", "Caught and missed (labelled payments)", "bar",
              [Column("outcome", "Outcome"), Column("payments", "Payments", "int")],
              label_rows, x="outcome", series=["payments"], empty_text="No labelled payments in this period."),
        Chart("model_versions", "Fraud model versions", "table",
              [Column("version", "Version", link_key="url"), Column("status", "Status"),
               Column("created", "Trained", "date"), Column("activated_at", "Activated", "date"),
               Column("auprc", "AUPRC", "decimal"), Column("roc_auc", "ROC-AUC", "decimal"),
               Column("recall_at_1pct_fpr", "Recall at 1% FPR", "decimal"),
               Column("precision_at_100", "Precision at 100/day", "decimal"),
               Column("rules_auprc", "Rules AUPRC", "decimal"), Column("eval_rows", "Evaluated on", "int"),
               Column("scored_in_period", "Scored in period", "int")],
              model_rows, empty_text="No fraud model has been trained."),
        Chart("top_rules", "Rules fired on flagged payments", "bar",
              [Column("name", "Rule"), Column("payments", "Payments", "int")],
              patterns["rules"], x="name", series=["payments"], empty_text="No rule fired in this period."),
        Chart("top_reasons", "Model reasons on flagged payments", "bar",
              [Column("name", "Reason"), Column("payments", "Payments", "int")],
              patterns["reasons"], x="name", series=["payments"],
              empty_text="No payment was flagged in this period."),
    ])
