"""Demo customers. Fixed e-mail addresses make the seed idempotent.

KYC: every status is shown (by index, not drawn: the other demos' draws stay as they were): most
customers verified, a few unverified, pending and rejected, each decision a review with a note and
an evidence reference. A customer already reviewed is left alone.

Dated back: the other apps' demos are seeded after this one but date their history back (subscriptions a year, the
ledger's system accounts before it), so the customers sign up before all of it (`began`), one after another, each
KYC review a day after the step before. Nothing a customer owns is older than the customer.

Recent signups: a few more customers sign up over the last weeks, so the customers dashboard's new customers and
signups by day have something to count. They own nothing yet, and their address (`@new.demo.example`) keeps them
out of the other demos, which pick `@demo.example` customers.
"""

import datetime as dt

from core import clock
from core.context import Actor

from . import services
from .models import Customer, KycReview

FIRST = ["Ada", "Grace", "Alan", "Katherine", "Linus", "Barbara", "Dennis", "Margaret", "Ken", "Radia",
         "Edsger", "Frances", "Donald", "Hedy", "Tim", "Annie", "John", "Mary", "Niklaus", "Sophie"]
LAST = ["Lovelace", "Hopper", "Turing", "Johnson", "Torvalds", "Liskov", "Ritchie", "Hamilton", "Thompson",
        "Perlman", "Dijkstra", "Allen", "Knuth", "Lamarr", "Berners-Lee", "Easley", "McCarthy", "Keller",
        "Wirth", "Wilson"]
COUNTRIES = ["US", "GB", "DE", "FR", "JP", "IN", "BR", "NL", "ES", "KW"]
CUSTOMER_COUNT = 40
# The reviews leading to each demo customer's status, by index modulo 10 (the rest: verified).
KYC_STEPS = {0: (), 1: (), 2: ("pending",), 3: ("pending", "rejected")}
# The longest history another app's demo makes (subscriptions/demo.py bills a year back) and, before it, the days
# the demo's customers sign up in (the ledger's system accounts are opened at their start).
HISTORY_DAYS = 365
SIGNUP_DAYS = 30
# Customers who signed up lately: one every SIGNUP_EVERY_DAYS days back from a minute ago (the overview's "today"
# has one), KYC by the same steps.
RECENT_SIGNUPS = 12
SIGNUP_EVERY_DAYS = 2.5
LATEST_SIGNUP = dt.timedelta(minutes=1)
KYC_NOTES = {"pending": "Documents requested", "verified": "Passport and proof of address checked",
             "rejected": "Document did not match the applicant"}


def demo_email(i: int) -> str:
    return f"customer{i:03d}@demo.example"


def recent_email(i: int) -> str:
    return f"signup{i:03d}@new.demo.example"


def began(now: dt.datetime) -> dt.datetime:
    """The first moment of the demo's timeline: before anything any app's demo dates its data at."""
    return now - dt.timedelta(days=HISTORY_DAYS + SIGNUP_DAYS)


def seeded_began() -> dt.datetime:
    """The first moment of the demo's timeline as seeded: the first demo customer signs up then (`began` of the
    run that made it), or `began(now)` before there is one. What a later app's demo dates from the start reads
    this, not `began(clock.now())`: that moves on by however long the seeds before it took, so two demos opening
    things "at the start" would not agree."""
    first = Customer.objects.filter(email=demo_email(0)).values_list("created", flat=True).first()
    return first or began(clock.now())


def signed_up(i: int, now: dt.datetime) -> dt.datetime:
    """Customer `i` signs up in the first half of the signup days, leaving room for its KYC reviews."""
    return began(now) + dt.timedelta(days=SIGNUP_DAYS / 2) * i / CUSTOMER_COUNT


def seed(*, rng, stdout) -> None:
    actor = Actor.system("seed_demo")
    now = clock.now()
    existing = set(Customer.objects.filter(email__endswith="demo.example").values_list("email", flat=True))
    created = 0
    for i in range(CUSTOMER_COUNT):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        country = rng.choice(COUNTRIES)
        segment = rng.choice(["retail", "smb", "enterprise"])
        email = demo_email(i)
        if email in existing:
            continue
        kwargs = {"email": email, "name": f"{first} {last}", "country": country, "metadata": {"segment": segment}}
        with clock.frozen_at(signed_up(i, now)):
            services.customer_create(actor=actor, **kwargs)
        created += 1
    # By index, not drawn, as the KYC steps: the other demos' draws stay as they were.
    for i in range(RECENT_SIGNUPS):
        email = recent_email(i)
        if email in existing:
            continue
        with clock.frozen_at(now - LATEST_SIGNUP - dt.timedelta(days=SIGNUP_EVERY_DAYS * (RECENT_SIGNUPS - 1 - i))):
            services.customer_create(actor=actor, email=email,
                                     name=f"{FIRST[-1 - i % len(FIRST)]} {LAST[(3 * i) % len(LAST)]}",
                                     country=COUNTRIES[i % len(COUNTRIES)], metadata={"segment": "retail"})
        created += 1
    reviewed = _review_kyc(actor)
    stdout.write(f"  customers: {created} created, {CUSTOMER_COUNT + RECENT_SIGNUPS - created} already there, "
                 f"{reviewed} KYC reviews (as of {clock.isoformat(clock.now())})")


def _review_kyc(actor: Actor) -> int:
    done = set(KycReview.objects.filter(customer__email__endswith="demo.example").values_list("customer_id",
                                                                                               flat=True))
    emails = ([(i, demo_email(i), f"{i:03d}") for i in range(CUSTOMER_COUNT)]
              + [(i, recent_email(i), f"signup{i:03d}") for i in range(RECENT_SIGNUPS)])
    now = clock.now()
    reviews = 0
    for i, email, label in emails:
        customer = Customer.objects.filter(email=email).first()
        if customer is None or customer.pk in done:
            continue
        for step, status in enumerate(KYC_STEPS.get(i % 10, ("verified",))):
            with clock.frozen_at(min(customer.created + dt.timedelta(days=step + 1), now)):
                services.customer_kyc_update(actor=actor, customer_id=customer.pk, kyc_status=status,
                                             note=KYC_NOTES[status],
                                             evidence_reference=f"demo-kyc-{label}-{step}")
            reviews += 1
    return reviews
