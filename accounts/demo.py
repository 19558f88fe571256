"""Demo customers. Fixed e-mail addresses make the seed idempotent.

KYC: every status is shown (by index, not drawn: the other demos' draws stay as they were): most
customers verified, a few unverified, pending and rejected, each decision a review with a note and
an evidence reference. A customer already reviewed is left alone.
"""

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
KYC_NOTES = {"pending": "Documents requested", "verified": "Passport and proof of address checked",
             "rejected": "Document did not match the applicant"}


def demo_email(i: int) -> str:
    return f"customer{i:03d}@demo.example"


def seed(*, rng, stdout) -> None:
    actor = Actor.system("seed_demo")
    existing = set(Customer.objects.filter(email__endswith="@demo.example").values_list("email", flat=True))
    created = 0
    for i in range(CUSTOMER_COUNT):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        country = rng.choice(COUNTRIES)
        segment = rng.choice(["retail", "smb", "enterprise"])
        email = demo_email(i)
        if email in existing:
            continue
        kwargs = {"email": email, "name": f"{first} {last}", "country": country, "metadata": {"segment": segment}}
        services.customer_create(actor=actor, **kwargs)
        created += 1
    reviewed = _review_kyc(actor)
    stdout.write(f"  customers: {created} created, {CUSTOMER_COUNT - created} already there, {reviewed} KYC "
                 f"reviews (as of {clock.isoformat(clock.now())})")


def _review_kyc(actor: Actor) -> int:
    done = set(KycReview.objects.filter(customer__email__endswith="@demo.example").values_list("customer_id",
                                                                                                flat=True))
    reviews = 0
    for i in range(CUSTOMER_COUNT):
        customer = Customer.objects.filter(email=demo_email(i)).first()
        if customer is None or customer.pk in done:
            continue
        for step, status in enumerate(KYC_STEPS.get(i % 10, ("verified",))):
            services.customer_kyc_update(actor=actor, customer_id=customer.pk, kyc_status=status,
                                         note=KYC_NOTES[status], evidence_reference=f"demo-kyc-{i:03d}-{step}")
            reviews += 1
    return reviews
