"""Subscriptions: MRR and its movements, churn and NRR, the at-risk list with reasons, billing runs and dunning
outcomes."""

from __future__ import annotations

from core.money import format_amount
from monitoring.analytics import rate
from monitoring.analytics import subscriptions as analytics

from .charts import Chart, Column, Page, Section, Tile, admin_url
from .period import Period
from .registry import register_page


@register_page("subscriptions", "Subscriptions", permission="subscriptions.view_subscription",
               description="MRR now and its monthly movements (new, expansion, contraction, churn, reactivation), "
                           "churn and net revenue retention, the subscriptions most at risk of churning with the "
                           "model's reasons, billing runs and how dunning ended.")
def build(period: Period) -> Page:
    mrr = analytics.mrr(period)
    risk = analytics.at_risk(period)
    runs = analytics.billing_runs(period)
    dunning = analytics.dunning_outcomes(period)
    retries = analytics.retries(period)

    movements = mrr["movements"]  # rates are decimal strings, which the rate columns read as they are
    risk_rows = [{**r, "url": admin_url("subscriptions.subscription", r["subscription_id"])}
                 for r in risk["subscriptions"]]
    run_rows = [{**r, "url": admin_url("subscriptions.billingrun", r["id"])} for r in runs["runs"]]
    mrr_tiles = []
    for row in mrr["mrr"]:
        code = row["currency"]
        net_new = sum(m["net_new"] for m in mrr["movements"] if m["currency"] == code)
        mrr_tiles += [Tile(f"mrr_{code.lower()}", f"MRR {code}", row["mrr"], "money", code,
                           detail=f"{row['paying_customers']:,} paying customers, ARPU "
                                  f"{format_amount(row['arpu'], code)} {code}"),
                      Tile(f"net_new_mrr_{code.lower()}", f"Net new MRR {code}", net_new, "money", code,
                           detail="over the months shown")]
    totals = runs["totals"]
    run_tiles = [
        Tile("billing_runs", "Billing runs", totals["runs"], detail=f"{totals['failed']:,} failed"),
        Tile("billing_errors", "Billing errors", totals["errors"], lower_is_better=True),
        Tile("retries", "Collection retries", retries["attempted"], previous=retries["previous_attempted"]),
        Tile("retry_success", "Retry success rate",
             rate(retries["succeeded"], retries["attempted"]), "rate",
             previous=rate(retries["previous_succeeded"], retries["previous_attempted"])),
    ]
    # The at-risk message (why there are no scores) is that table's empty text, where a reader looks for the scores;
    # as a page note too it said the same twice.
    notes = list(risk["warnings"])
    return Page("Subscriptions", sections=[Section("Recurring revenue", mrr_tiles),
                                           Section("Billing and dunning in the period", run_tiles)],
                notes=notes, charts=[
        Chart("mrr_by_month", "MRR at each month's end", "line",
              [Column("month", "Month"), Column("currency", "Currency"), Column("mrr_start", "MRR at start", "money"),
               Column("mrr_end", "MRR at end", "money")],
              movements, x="month", series=["mrr_end"], group="currency"),
        Chart("mrr_movements", "MRR movements by month", "bar",
              [Column("month", "Month"), Column("currency", "Currency"), Column("new", "New", "money"),
               Column("expansion", "Expansion", "money"), Column("reactivation", "Reactivation", "money"),
               Column("contraction", "Contraction", "money"), Column("churn", "Churn", "money"),
               Column("net_new", "Net new", "money")],
              movements, x="month", series=["new", "expansion", "reactivation", "contraction", "churn"],
              group="currency"),
        Chart("churn_and_nrr", "Churn and net revenue retention by month", "line",
              [Column("month", "Month"), Column("currency", "Currency"),
               Column("customers_start", "Paying customers at start", "int"),
               Column("customers_churned", "Customers churned", "int"),
               Column("logo_churn_rate", "Logo churn", "rate"), Column("revenue_churn_rate", "Revenue churn", "rate"),
               Column("net_revenue_retention", "Net revenue retention", "rate")],
              movements, x="month", series=["logo_churn_rate", "revenue_churn_rate", "net_revenue_retention"],
              group="currency"),
        Chart("at_risk", f"Most at risk of churning (top {analytics.AT_RISK_LIMIT})", "table",
              [Column("subscription_id", "Subscription", link_key="url"), Column("customer_id", "Customer"),
               Column("currency", "Currency"), Column("score", "Churn risk", "rate"), Column("reasons", "Reasons")],
              risk_rows, empty_text=risk["message"] or "No paying subscription to score."),
        Chart("billing_runs", f"Billing runs (latest {analytics.RUNS_LIMIT})", "table",
              [Column("id", "Run", link_key="url"), Column("status", "Status"), Column("started", "Started", "date"),
               Column("finished", "Finished", "date"), Column("duration_ms", "Took", "ms"),
               Column("renewed", "Renewed", "int"), Column("invoices_created", "Invoices", "int"),
               Column("payments_attempted", "Charges", "int"), Column("payments_succeeded", "Succeeded", "int"),
               Column("payments_failed", "Failed", "int"), Column("canceled", "Canceled", "int"),
               Column("expired", "Expired", "int"), Column("errors", "Errors", "int")],
              run_rows, empty_text="No billing run in this period."),
        Chart("dunning_outcomes", "Dunning outcomes of invoices that first failed in the period", "bar",
              [Column("outcome", "Outcome"), Column("currency", "Currency"), Column("invoices", "Invoices", "int"),
               Column("amount", "Amount", "money")],
              dunning, x="outcome", series=["invoices"], group="currency",
              empty_text="No invoice payment failed in this period."),
    ])
