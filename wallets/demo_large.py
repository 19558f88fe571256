"""`seed_demo --scale large`: the wallets, each on its own ledger account, opened over the year and
funded by an opening top-up from the sandbox provider's clearing account (the entry
`wallet_credit_topup` writes), with the audit events and events of `wallet_create` and the top-up;
about 1% are frozen (with the `wallet.frozen` audit event)."""

from __future__ import annotations

import datetime as dt

from core.bulkseed import LargeSeed, copy_rows, fast_id, iso, reserve_ids
from core.money import exponent

from .audit import WalletsAction
from .demo import EXTRA, HOME_CURRENCY
from .events import WalletsEvent
from .ledger_bulk import BulkLedger
from .models import AccountType, LedgerAccount, Wallet

_ACCOUNT_NAMES = [
    "id",
    "owner",
    "account_type",
    "currency",
    "balance",
    "pending_debits",
    "pending_credits",
    "allow_negative",
    "version",
    "created",
    "updated",
]
_WALLET_NAMES = [
    "id",
    "customer_id",
    "currency",
    "status",
    "daily_limit",
    "account_id",
    "status_reason",
    "created",
    "updated",
]


def seed_large(seed: LargeSeed) -> None:
    from accounts.models import Customer

    rng = seed.rng
    customers = list(
        Customer.objects.filter(email__endswith="@large.example")
        .order_by("created", "id")
        .values_list("id", "country", "created")
    )
    if not customers:
        return
    with seed.timer.phase("wallets: wallets and opening top-ups") as note:
        plan: list[tuple[str, str, dt.datetime]] = []
        for i in range(min(seed.wallets, 2 * len(customers))):
            customer_id, country, joined = customers[i % len(customers)]
            home = HOME_CURRENCY.get(country, "USD")
            currency = home if i < len(customers) else next(c for c in EXTRA if c != home)
            opened = max(joined, seed.start) + dt.timedelta(days=rng.uniform(0, 30))
            plan.append((customer_id, currency, min(opened, seed.now).replace(microsecond=0)))
        plan.sort(key=lambda p: p[2])
        ledger = BulkLedger(actor=seed.audit.actor)
        ids = reserve_ids(LedgerAccount, len(plan))
        accounts, wallets = [], []
        for pk, (customer_id, currency, at) in zip(ids, plan, strict=True):
            accounts.append((pk, customer_id, AccountType.CUSTOMER_WALLET, currency, 0, 0, 0, False, 0, at, None))
        copy_rows(LedgerAccount, _ACCOUNT_NAMES, accounts)
        frozen = 0
        for pk, (customer_id, currency, at) in zip(ids, plan, strict=True):
            ledger.track_new(pk, currency)
            wallet_id = fast_id("wal")
            status = "frozen" if rng.random() < 0.01 else "active"
            frozen += status == "frozen"
            wallets.append(
                (
                    wallet_id,
                    customer_id,
                    currency,
                    status,
                    None,
                    pk,
                    "Card testing suspected" if status == "frozen" else "",
                    at,
                    at,
                )
            )
            seed.audit.add(
                action=WalletsAction.WALLET_CREATED,
                at=at,
                object_type="wallets.wallet",
                object_id=wallet_id,
                details={"currency": currency},
            )
            seed.events.add(
                type=WalletsEvent.WALLET_CREATED,
                at=at,
                object_type="wallets.wallet",
                object_id=wallet_id,
                obj={
                    "id": wallet_id,
                    "object": "wallet",
                    "customer_id": customer_id,
                    "currency": currency,
                    "status": "active",
                    "balance": "0",
                    "created": iso(at),
                },
            )
            amount = rng.randint(20, 2000) * 10 ** exponent(currency)
            clearing = ledger.account(("provider:sandbox", AccountType.PROVIDER_CLEARING, currency))
            topped = at + dt.timedelta(minutes=1)
            entry_id = ledger.post(
                kind="wallet_topup",
                description="Top-up demo opening top-up",
                postings=[(clearing, -amount), (pk, amount)],
                at=topped,
                metadata={"wallet_id": wallet_id, "reference": "demo opening top-up"},
            )
            seed.audit.add(
                action=WalletsAction.WALLET_TOPPED_UP,
                at=topped,
                object_type="wallets.wallet",
                object_id=wallet_id,
                details={"entry_id": entry_id, "amount": amount},
            )
            seed.events.add(
                type=WalletsEvent.TOP_UP_SUCCEEDED,
                at=topped,
                object_type="wallets.journalentry",
                object_id=entry_id,
                obj={
                    "id": entry_id,
                    "object": "journal_entry",
                    "kind": "wallet_topup",
                    "wallet_id": wallet_id,
                    "created": iso(topped),
                },
            )
            if status == "frozen":
                seed.audit.add(
                    action=WalletsAction.WALLET_FROZEN,
                    at=topped + dt.timedelta(days=1),
                    object_type="wallets.wallet",
                    object_id=wallet_id,
                    details={"reason": "Card testing suspected"},
                )
        note["wallets"] = copy_rows(Wallet, _WALLET_NAMES, wallets)
        note["frozen"] = frozen
        ledger.finish()
        note["journal entries"] = ledger.entry_count
        seed.flush()
