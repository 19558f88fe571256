"""Wallets: balances by currency, flows in and out, largest movements, frozen wallets."""

from __future__ import annotations

from monitoring.analytics import wallets as analytics

from .charts import Chart, Column, Page, Section, Tile, admin_url
from .period import Period
from .registry import register_page


@register_page("wallets", "Wallets", permission="wallets.view_wallet",
               description="Customer wallets: balances now, money in and out over the period, its largest "
                           "movements and the frozen wallets.")
def build(period: Period) -> Page:
    balances = analytics.balances(period)
    flows = analytics.flows_by_day(period)
    totals = analytics.flow_totals(period)
    movements = [{**m, "url": admin_url("wallets.journalentry", m["entry_id"]),
                  "wallet_url": admin_url("wallets.wallet", m["wallet_id"]) if m["wallet_id"] else None}
                 for m in analytics.largest_movements(period)]
    frozen = [{**w, "url": admin_url("wallets.wallet", w["wallet_id"])}
              for w in analytics.frozen_wallets(period)]
    balance_tiles = [Tile(f"balance_{r['currency'].lower()}", f"Balances {r['currency']}", r["balance"], "money",
                          r["currency"], detail=f"{r['wallets']:,} wallets, {r['frozen']:,} frozen")
                     for r in balances]
    flow_tiles = []
    for r in totals:
        code = r["currency"].lower()
        flow_tiles += [Tile(f"inflow_{code}", f"Money in {r['currency']}", r["inflow"], "money", r["currency"],
                            previous=r["previous_inflow"], detail="against the previous period"),
                       Tile(f"outflow_{code}", f"Money out {r['currency']}", r["outflow"], "money", r["currency"],
                            previous=r["previous_outflow"], detail="against the previous period")]
    frozen_count = sum(r["frozen"] for r in balances)
    return Page("Wallets", sections=[
        Section("Balances now", [*balance_tiles, Tile("frozen_wallets", "Frozen wallets", frozen_count,
                                                      lower_is_better=True)]),
        Section("Flows in the period", flow_tiles),
    ], charts=[
        # Plots the counts: balances in different currencies share no scale (1,000 JPY beside 1,000 KWD); each
        # currency's balance is in the table and its tile.
        Chart("balances_by_currency", "Wallets and balances by currency", "bar",
              [Column("currency", "Currency"), Column("wallets", "Wallets", "int"),
               Column("frozen", "Frozen", "int"), Column("balance", "Balance", "money")],
              balances, x="currency", series=["wallets", "frozen"], empty_text="No wallets yet."),
        Chart("flows_by_day", "Money in and out by day", "bar",
              [Column("day", "Day", "date"), Column("currency", "Currency"), Column("inflow", "In", "money"),
               Column("outflow", "Out", "money")],
              flows, x="day", series=["inflow", "outflow"], group="currency"),
        Chart("largest_movements", f"Largest movements on customer wallets (top {analytics.LARGEST_LIMIT})", "table",
              [Column("entry_id", "Entry", link_key="url"), Column("wallet_id", "Wallet", link_key="wallet_url"),
               Column("customer_id", "Customer"), Column("kind", "Kind"), Column("currency", "Currency"),
               Column("amount", "Amount", "money", signed=True),
               Column("reference_amount", f"About, in {analytics.REFERENCE_CURRENCY}", "money",
                      currency_key="reference_currency", signed=True),
               Column("created", "At", "date")],
              movements, empty_text="No wallet movements in this period.",
              description=f"Ranked by value in {analytics.REFERENCE_CURRENCY} at the exchange rates stored now; "
                          f"movements in a currency without a rate to {analytics.REFERENCE_CURRENCY} come last, "
                          "by currency, largest first within it."),
        Chart("frozen_wallets", f"Frozen wallets (latest {analytics.FROZEN_LIMIT})", "table",
              [Column("wallet_id", "Wallet", link_key="url"), Column("customer_id", "Customer"),
               Column("currency", "Currency"), Column("balance", "Balance", "money"), Column("reason", "Reason"),
               Column("updated", "Last changed", "date")],
              frozen, empty_text="No frozen wallets."),
    ])
