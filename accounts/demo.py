"""Demo customers. Fixed e-mail addresses make the seed idempotent."""

from core import clock
from core.context import Actor

from . import services
from .models import Customer

FIRST = ["Ada", "Grace", "Alan", "Katherine", "Linus", "Barbara", "Dennis", "Margaret", "Ken", "Radia",
         "Edsger", "Frances", "Donald", "Hedy", "Tim", "Annie", "John", "Mary", "Niklaus", "Sophie"]
LAST = ["Lovelace", "Hopper", "Turing", "Johnson", "Torvalds", "Liskov", "Ritchie", "Hamilton", "Thompson",
        "Perlman", "Dijkstra", "Allen", "Knuth", "Lamarr", "Berners-Lee", "Easley", "McCarthy", "Keller",
        "Wirth", "Wilson"]
COUNTRIES = ["US", "GB", "DE", "FR", "JP", "IN", "BR", "NL", "ES", "KW"]
CUSTOMER_COUNT = 40


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
    stdout.write(f"  customers: {created} created, {CUSTOMER_COUNT - created} already there "
                 f"(as of {clock.isoformat(clock.now())})")
