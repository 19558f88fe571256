"""Customers: who pays, how often and how much (RFM segments), whether they come back (cohorts), the largest
customers and the new ones. The numbers are `monitoring.analytics.customers`'s."""

from __future__ import annotations

from ..analytics import customers as analytics
from ..analytics import customers_snapshot
from ..analytics.customers_snapshot import CustomersFigures
from .charts import Chart, Column, Page, Section, Tile, admin_url, changelist_url
from .period import Period
from .registry import register_page


def _tiles(figures: CustomersFigures) -> list[Tile]:
    now, before = figures.now, figures.before
    customers_url = changelist_url("accounts.customer")
    tiles = [
        Tile(
            "paying_customers",
            "Paying customers",
            now.paying_customers,
            previous=before.paying_customers,
            url=customers_url,
            detail="With a succeeded payment in the period",
        ),
        Tile(
            "new_customers",
            "New customers",
            now.new_customers,
            previous=before.new_customers,
            url=customers_url,
            detail="Created in the period",
        ),
        Tile(
            "repeat_rate",
            "Repeat rate",
            now.repeat_rate,
            "rate",
            previous=before.repeat_rate,
            detail="Paying customers with two or more succeeded payments",
        ),
    ]
    for currency in sorted(now.revenue):
        tiles.append(
            Tile(
                f"arppc_{currency.lower()}",
                f"Revenue per paying customer {currency}",
                now.average_revenue(currency),
                "money",
                currency,
                previous=before.average_revenue(currency),
                detail=f"{now.revenue[currency][1]:,} paying in {currency}",
            )
        )
    return tiles


def _cohort_columns() -> list[Column]:
    return [
        Column("cohort", "Cohort (first payment)"),
        Column("customers", "Customers", "int"),
        *[Column(f"m{i}", f"Month {i}", "rate") for i in range(analytics.COHORT_MONTHS + 1)],
    ]


@register_page(
    "customers",
    "Customers",
    permission="accounts.view_customer",
    description="Paying, new and repeat customers; RFM segments, cohort retention, top customers.",
)
def build(period: Period) -> Page:
    figures = customers_snapshot.figures(period)
    segments, top = figures.segments, [dict(row) for row in figures.top]
    for row in top:
        row["url"] = admin_url("accounts.customer", row["customer_id"])
        row["customer"] = row["name"] or row["email"]
    return Page(
        "Customers",
        sections=[Section("In the period", _tiles(figures))],
        notes=[] if figures.computed_at is None else [
            f"Segments, top customers and tiles as of {figures.computed_at:%Y-%m-%d %H:%M} UTC: the last 30 days are "
            f"scored every five minutes (monitoring.refresh_customers_snapshot); other periods when asked."],
        charts=[
            Chart(
                "rfm_segments",
                "Customers by RFM segment",
                "bar",
                [
                    Column("segment", "Segment"),
                    Column("label", "Label"),
                    Column("customers", "Customers", "int"),
                    Column("share", "Share", "rate"),
                ],
                segments if any(row["customers"] for row in segments) else [],
                x="label",
                series=["customers"],
                description="Recency, frequency and monetary value scored 1-5 by quintile over the customers who "
                "paid in the period; the segment table is in docs/dashboards/customers.md.",
                empty_text="No customer paid in this period.",
            ),
            Chart(
                "cohort_retention",
                "Cohort retention by month",
                "table",
                _cohort_columns(),
                analytics.cohort_retention(period),
                description="Customers grouped by the month of their first succeeded payment; each month's share of "
                "the cohort that paid again. Whole months, from the customer activity rollups (refreshed every five "
                "minutes).",
                empty_text="No first payments in these months.",
            ),
            Chart(
                "top_customers",
                f"Top customers by captured volume ({analytics.TOP_CUSTOMERS} per currency)",
                "table",
                [
                    Column("customer_id", "Customer", link_key="url"),
                    Column("customer", "Name"),
                    Column("currency", "Currency"),
                    Column("volume", "Captured", "money"),
                    Column("payments", "Payments", "int"),
                ],
                top,
                empty_text="No captured payments in this period.",
            ),
            Chart(
                "new_customers_by_day",
                "New customers by day",
                "bar",
                [
                    Column("day", "Day", "date"),
                    Column("signed_up", "Signed up", "int"),
                    Column("first_paid", "First payment", "int"),
                ],
                analytics.new_customers_by_day(period),
                x="day",
                series=["signed_up", "first_paid"],
            ),
        ],
    )
