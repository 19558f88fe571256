"""Demo payments: a few thousand over the last 90 days, in several currencies, with declines,
refunds, manual captures, cancels and unknown outcomes, all through the services.

Payments are made at 25 merchants (`MERCHANTS`), a few large and many small (weights falling as 1/rank, as
real merchant volumes do), so merchant features and fraud patterns have data. Each payment carries its demo
number in `metadata.demo_ref` (`demo-NNNNN`), so a second run skips what exists (earlier runs kept it in
`merchant_reference`; those are recognised too). Payments are made "as of" their demo time with
`clock.frozen_at`, so history looks real.
"""

from __future__ import annotations

import datetime as dt
import time

from accounts import demo as accounts_demo
from accounts.models import Customer
from core import clock
from core.context import Actor
from core.errors import DomainError
from core.money import exponent
from wallets import demo as wallets_demo

from . import services
from .models import FeeSchedule, Payment
from .services.postings import clearing_key, fees_key, revenue_key
from .services.settings import fee_schedule_save

PAYMENT_COUNT = 2000
WALLET_PAYMENTS = 200
DAYS = 90
CURRENCIES = [("USD", 500, 50_000), ("EUR", 500, 40_000), ("GBP", 500, 30_000), ("JPY", 500, 50_000),
              ("INR", 10_000, 2_000_000), ("KWD", 1_000, 90_000)]
CURRENCY_WEIGHTS = [40, 25, 12, 10, 8, 5]
TOKENS = ["tok_visa", "tok_mastercard", "tok_decline_generic", "tok_decline_insufficient_funds",
          "tok_decline_expired", "tok_timeout", "tok_bank_transfer"]
TOKEN_WEIGHTS = [64, 19, 6, 4, 2, 2, 3]
MERCHANTS = ["northwind-grocers", "bluebird-books", "cobalt-electronics", "fjord-outdoor", "harbor-pharmacy",
             "lumen-streaming", "maple-cafe", "nimbus-travel", "orbit-games", "pioneer-hardware",
             "quill-stationery", "redwood-furniture", "saffron-kitchen", "tidal-surf", "umber-fashion",
             "vantage-fitness", "willow-florist", "xenon-auto-parts", "yarrow-pets", "zephyr-bikes",
             "atlas-telecom", "beacon-insurance", "cedar-dental", "delta-parking", "ember-candles"]
# Zipf-like: the first merchant takes about a quarter of the payments, the last about 1%.
MERCHANT_WEIGHTS = [1 / rank for rank in range(1, len(MERCHANTS) + 1)]
FEES = [("sandbox", "USD", 290, 30), ("sandbox", "EUR", 250, 25), ("sandbox_alt", "USD", 270, 30),
        ("sandbox_alt", "EUR", 240, 25), ("sandbox", "GBP", 200, 20)]


def _ledger_accounts() -> None:
    """The accounts of each provider and currency with a fee schedule (its clearing, the revenue and the fees),
    opened as the demo's timeline begins with the schedules: the subscriptions demo, seeded after this one, collects
    through them from a year back. The wallets demo dates them (and its own sandbox clearing accounts, opened before
    these). The other currencies' accounts open with their first payment, as usual."""
    wallets_demo.open_from_the_start(
        key for provider, currency, *_ in FEES
        for key in (clearing_key(provider=provider, currency=currency), revenue_key(currency=currency),
                    fees_key(currency=currency)))


def _fees(actor: Actor) -> None:
    existing = set(FeeSchedule.objects.values_list("provider", "currency"))
    for provider, currency, bps, fixed in FEES:
        if (provider, currency) in existing:
            continue
        schedule = FeeSchedule(provider=provider, currency=currency, percent_bps=bps, fixed_amount=fixed)
        fee_schedule_save(actor=actor, schedule=schedule)


def _follow_up(rng, actor: Actor, payment: Payment, moment: dt.datetime, now: dt.datetime) -> None:
    later = min(moment + dt.timedelta(hours=rng.randint(1, 72)), now)
    with clock.frozen_at(later):
        if payment.status == Payment.Status.REQUIRES_CAPTURE and payment.review_status == Payment.Review.NONE:
            roll = rng.random()
            if roll < 0.6:
                amount = payment.amount if rng.random() < 0.8 else max(payment.amount // 2, 1)
                payment = services.payment_capture(actor=actor, payment_id=payment.id, amount=amount)
            elif roll < 0.8:
                payment = services.payment_cancel(actor=actor, payment_id=payment.id)
        elif payment.status == Payment.Status.REQUIRES_CAPTURE and rng.random() < 0.7:
            payment = services.payment_review(actor=actor, payment_id=payment.id,
                                              decision="approve" if rng.random() < 0.7 else "reject")
        elif payment.status in (Payment.Status.UNKNOWN, Payment.Status.PROCESSING) and rng.random() < 0.5:
            payment = services.payment_verify(actor=actor, payment_id=payment.id)
        if payment.status == Payment.Status.SUCCEEDED and rng.random() < 0.09:
            full = rng.random() < 0.5
            amount = None if full else max(payment.amount_captured // rng.choice([2, 3, 4]), 1)
            services.refund_create(actor=actor, payment_id=payment.id, amount=amount,
                                   reason=rng.choice(["requested_by_customer", "duplicate", "fraudulent", "other"]))


def _wallet_payments(rng, actor: Actor, done: set[str], now: dt.datetime) -> int:
    """Top-ups through a card, and purchases paid from wallets (holds captured into revenue)."""
    from wallets.models import Wallet

    wallets = list(Wallet.objects.filter(customer__email__endswith="@demo.example", status="active")
                   .order_by("customer__email", "currency"))
    created = 0
    for i in range(WALLET_PAYMENTS if wallets else 0):
        wallet = rng.choice(wallets)
        top_up = rng.random() < 0.4
        digits = exponent(wallet.currency)
        amount = rng.randint(5, 80) * 10 ** (digits or 2)  # zero-digit currencies: hundreds of units
        moment = now - dt.timedelta(days=DAYS) + dt.timedelta(days=DAYS) * (i + 0.5) / WALLET_PAYMENTS
        reference = f"demo-w{i:04d}"
        merchant = "" if top_up else rng.choices(MERCHANTS, weights=MERCHANT_WEIGHTS)[0]
        if reference in done:
            continue
        with clock.frozen_at(moment):
            services.payment_create(
                actor=actor, customer_id=wallet.customer_id, amount=amount, currency=wallet.currency,
                method="card" if top_up else "wallet", payment_method="tok_visa" if top_up else wallet.id,
                wallet_id=wallet.id if top_up else None, description="Demo wallet " + ("top-up" if top_up else
                                                                                        "purchase"),
                metadata={"demo": True, "demo_ref": reference}, channel="app",
                device_id=f"dev-{wallet.customer_id[-6:]}", merchant_reference=merchant)
        created += 1
    return created


def _done() -> set[str]:
    """Demo numbers of the payments already made (in metadata; earlier runs kept them as the merchant)."""
    marked = Payment.objects.filter(metadata__demo_ref__startswith="demo-").values_list("metadata__demo_ref",
                                                                                         flat=True)
    legacy = Payment.objects.filter(merchant_reference__startswith="demo-").values_list("merchant_reference",
                                                                                          flat=True)
    return {str(ref) for ref in marked} | set(legacy)


def seed(*, rng, stdout) -> None:
    started = time.monotonic()
    actor = Actor.system("seed_demo")
    now = clock.now()
    _ledger_accounts()
    with clock.frozen_at(accounts_demo.seeded_began()):  # in force before the first payment charged by them
        _fees(actor)
    from .risk.demo import seed_model

    seed_model(stdout=stdout)  # before the payments, so they are scored by the model
    customers = list(Customer.objects.filter(email__endswith="@demo.example").order_by("email"))
    if not customers:
        stdout.write("  payments: no demo customers, skipped")
        return
    done = _done()
    start = now - dt.timedelta(days=DAYS)
    step = dt.timedelta(days=DAYS) / PAYMENT_COUNT
    created = failed = 0
    for i in range(PAYMENT_COUNT):
        # Draw everything for this index first, so skipping an existing one keeps later draws the same.
        customer = rng.choice(customers)
        currency, low, high = rng.choices(CURRENCIES, weights=CURRENCY_WEIGHTS)[0]
        amount = rng.randint(low, high)
        token = rng.choices(TOKENS, weights=TOKEN_WEIGHTS)[0]
        manual = rng.random() < 0.15
        channel = rng.choice(["web", "web", "app", "pos", "moto"])
        if rng.random() < 0.01:
            amount *= 40  # a few large ones land in risk review
        moment = start + step * i + dt.timedelta(seconds=rng.randint(0, 600))
        reference = f"demo-{i:05d}"
        merchant = rng.choices(MERCHANTS, weights=MERCHANT_WEIGHTS)[0]
        follow_seed = rng.random()
        if reference in done:
            continue
        # Each service owns its transaction (steps around the provider call): nothing wraps it.
        with clock.frozen_at(moment):
            payment = services.payment_create(
                actor=actor, customer_id=customer.id, amount=amount, currency=currency,
                method="bank_transfer" if token == "tok_bank_transfer" else "card",
                payment_method=token, capture_method="manual" if manual else "automatic",
                description=f"Demo order {i}", metadata={"demo": True, "demo_ref": reference}, channel=channel,
                device_id=f"dev-{customer.id[-6:]}", ip_address=f"203.0.113.{rng.randint(1, 254)}",
                merchant_reference=merchant)
        created += 1
        failed += payment.status == Payment.Status.FAILED
        try:
            _follow_up(type(rng)(follow_seed), actor, payment, moment, now)
        except DomainError as exc:
            # A refused use case changed nothing; the seed goes on.
            stdout.write(f"  payments: follow-up of {payment.id} refused: {exc.code}")
    created += _wallet_payments(rng, actor, done, now)
    stdout.write(f"  payments: {created} created ({failed} card payments declined or blocked), "
                 f"{PAYMENT_COUNT + WALLET_PAYMENTS - created} already there, in {time.monotonic() - started:.1f}s")
