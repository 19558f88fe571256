"""Demo wallets for the demo customers (accounts/demo.py), with top-ups, transfers and conversions.

Idempotent: the whole plan is drawn from `rng` first (the same on every run), then each step
is applied only if it is not there yet (wallets by customer and currency, movements by their
`demo #` description). A second run adds nothing.

Dated back, and posted in date order: the rates and wallets `OPENED_DAYS_AGO` days ago, the movements one after
another until `MOVED_UNTIL_DAYS_AGO`, before the payments demo's wallet top-ups and purchases (`payments.demo`,
its last 90 days, seeded after this app). A wallet's history is listed in posting order, so that its balances
add up row to row; its dates then fall row to row too. The ledger accounts any demo posts to from the first day
of the demo's history (the sandbox clearing accounts here, the payments demo's fee-schedule accounts) are opened
and dated in one place, `open_from_the_start`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from decimal import Decimal
from itertools import combinations

from django.db import transaction

from accounts import demo as accounts_demo
from accounts.models import Customer
from core import clock
from core.context import Actor
from core.db import use_case
from core.errors import DomainError
from core.money import exponent

from . import ledger, services
from .models import AccountType, ExchangeRate, JournalEntry, Wallet

HOME_CURRENCY = {"US": "USD", "GB": "GBP", "DE": "EUR", "FR": "EUR", "NL": "EUR", "ES": "EUR", "JP": "JPY",
                 "KW": "KWD", "IN": "USD", "BR": "USD"}
EXTRA = ["USD", "EUR", "GBP", "JPY"]
# Units of each currency per 1 USD: illustrative, not market data. Cross rates are derived.
PER_USD = {"USD": Decimal(1), "EUR": Decimal("0.9234"), "GBP": Decimal("0.7891"), "JPY": Decimal("151.237"),
           "KWD": Decimal("0.3071")}
# The owner of the sandbox provider's clearing accounts (payments.services.postings.clearing_key's "provider:<name>").
SANDBOX_CLEARING = "provider:sandbox"
TRANSFERS = 150
CONVERSIONS = 12
OPENED_DAYS_AGO = 120
# Before payments.demo's first wallet payment (its DAYS, 90), as tests/wallets/test_history_order.py checks.
MOVED_UNTIL_DAYS_AGO = 91


def open_from_the_start(keys: Iterable[ledger.AccountKey]) -> None:
    """Opens the ledger accounts (owner, type, currency) that demos post to from the first day of their
    history, dated at the timeline's first moment (`accounts.demo.seeded_began`). The one place the demos
    back-date ledger accounts: this app's sandbox clearing accounts and `payments.demo`'s fee-schedule accounts
    alike, so an account both need (the sandbox provider's clearing in USD, EUR, GBP) is dated the same whichever
    demo opens it first. An account already open stays as it is."""
    with clock.frozen_at(accounts_demo.seeded_began()), transaction.atomic():
        for owner, account_type, currency in sorted(set(keys)):
            ledger.system_account(account_type=account_type, currency=currency, owner=owner)


@use_case
def _open_and_fund(*, actor: Actor, customer: Customer, currency: str, major: int) -> None:
    """A wallet and its opening top-up, both or neither."""
    wallet = services.wallet_create(actor=actor, customer_id=customer.pk, currency=currency)
    source = ledger.system_account(account_type=AccountType.PROVIDER_CLEARING, currency=currency,
                                   owner=SANDBOX_CLEARING)
    services.wallet_credit_topup(wallet_id=wallet.pk, amount=major * 10 ** exponent(currency), source=source,
                                 actor=actor, reference="demo opening top-up")


def seed(*, rng, stdout) -> None:
    actor = Actor.system("seed_demo")
    customers = list(Customer.objects.filter(email__endswith="@demo.example").order_by("email"))
    if not customers:
        stdout.write("  wallets: no demo customers, nothing to do")
        return

    opened = clock.now() - dt.timedelta(days=OPENED_DAYS_AGO)
    rates_added = 0
    for base, quote in combinations(sorted(PER_USD), 2):
        if not ExchangeRate.objects.filter(base_currency=base, quote_currency=quote).exists():
            rate = (PER_USD[quote] / PER_USD[base]).quantize(Decimal("0.0000000001"))
            with clock.frozen_at(opened):  # in force for the conversions dated after it
                services.exchange_rate_set(actor=actor, base_currency=base, quote_currency=quote, rate=rate,
                                           source="demo (illustrative)")
            rates_added += 1

    plan: list[tuple[Customer, str, int]] = []
    for customer in customers:
        currencies = [HOME_CURRENCY.get(customer.country, "USD")]
        extra = rng.choice(EXTRA)
        if rng.random() < 0.6 and extra not in currencies:
            currencies.append(extra)
        plan.extend((customer, cur, rng.randint(200, 2000)) for cur in currencies)

    # The sandbox provider's clearing accounts the opening top-ups come from: the subscriptions demo (seeded later)
    # collects through them from a year back, before these wallets were opened.
    open_from_the_start((SANDBOX_CLEARING, AccountType.PROVIDER_CLEARING, currency)
                        for currency in {currency for _, currency, _ in plan})

    created = 0
    for customer, currency, major in plan:
        if Wallet.objects.filter(customer=customer, currency=currency).exists():
            continue

        with clock.frozen_at(opened):
            _open_and_fund(actor=actor, customer=customer, currency=currency, major=major)
        created += 1

    wallets = list(Wallet.objects.filter(customer__in=customers).order_by("customer__email", "currency"))
    by_currency: dict[str, list[Wallet]] = {}
    for w in wallets:
        by_currency.setdefault(w.currency, []).append(w)
    moves: list[tuple[str, Callable[..., JournalEntry]]] = []
    # Rejected customers send nothing (KYC): money only moves to them. Unverified and pending ones send
    # far less than their daily KYC limit.
    rejected = set(Customer.objects.filter(pk__in=[c.pk for c in customers],
                                           kyc_status=Customer.KycStatus.REJECTED).values_list("pk", flat=True))
    pools = [cur for cur, ws in sorted(by_currency.items())
             if len(ws) >= 2 and any(w.customer_id not in rejected for w in ws)]
    for i in range(TRANSFERS):
        cur = rng.choice(pools)
        a, b = rng.sample(by_currency[cur], 2)
        while a.customer_id in rejected:
            a, b = (b, a) if b.customer_id not in rejected else rng.sample(by_currency[cur], 2)
        minor = rng.randint(1, 20) * 10 ** exponent(cur)
        moves.append((f"demo #{i:03d}", lambda a=a, b=b, m=minor, cur=cur, d=None: services.wallet_transfer(
            actor=actor, from_wallet_id=a.pk, to_wallet_id=b.pk, amount=m, currency=cur, description=d)))
    multi = [c for c in customers if sum(1 for w in wallets if w.customer_id == c.pk) >= 2 and c.pk not in rejected]
    for i in range(CONVERSIONS if multi else 0):
        customer = rng.choice(multi)
        source, target = rng.sample([w for w in wallets if w.customer_id == customer.pk], 2)
        minor = rng.randint(5, 50) * 10 ** exponent(source.currency)
        moves.append((f"demo conversion #{i:03d}", lambda s=source, t=target, m=minor, d=None: services.wallet_convert(
            actor=actor, from_wallet_id=s.pk, to_wallet_id=t.pk, amount=m, description=d)))

    done = set(JournalEntry.objects.filter(description__startswith="demo ").values_list("description", flat=True))
    applied = refused = 0
    span = dt.timedelta(days=OPENED_DAYS_AGO - MOVED_UNTIL_DAYS_AGO)
    for i, (description, move) in enumerate(moves):
        if description in done:
            continue
        try:
            with clock.frozen_at(opened + span * (i + 1) / len(moves)):
                move(d=description)
        except DomainError as exc:
            refused += 1
            stdout.write(f"  wallets: {description} refused: {exc.code}")
        else:
            applied += 1
    stdout.write(f"  wallets: {created} wallets opened, {rates_added} rates, {applied} movements added, "
                 f"{refused} refused ({len(plan)} wallets and {len(moves)} movements planned)")
