"""`seed_demo --scale large`: the customers (`customerNNNNNN@large.example`), signed up over the year,
with the audit event and the `customer.created` event `customer_create` writes for each."""

from __future__ import annotations

import datetime as dt

from core.bulkseed import LargeSeed, copy_rows, fast_id, iso

from .audit import AccountsAction
from .demo import COUNTRIES, FIRST, LAST
from .events import AccountsEvent
from .models import Customer

EMAIL_DOMAIN = "@large.example"
_NAMES = ["id", "email", "name", "country", "status", "kyc_status", "metadata", "created", "updated"]


def existing() -> bool:
    return Customer.objects.filter(email__endswith=EMAIL_DOMAIN).exists()


def customer_ids() -> list[str]:
    """The large seed's customers, oldest first (the other apps draw from them)."""
    return list(
        Customer.objects.filter(email__endswith=EMAIL_DOMAIN).order_by("created", "id").values_list("id", flat=True)
    )


def seed_large(seed: LargeSeed) -> None:
    rng, count = seed.rng, seed.customers
    with seed.timer.phase("accounts: customers") as note:
        rows = []
        span = (seed.now - seed.start).total_seconds()
        for i in range(count):
            # Sign-ups spread over the year, a third of them before it (customers with history).
            at = seed.start + dt.timedelta(seconds=span * (i / count) * 1.5 - span / 2)
            at = at.replace(microsecond=0)
            country = rng.choice(COUNTRIES)
            kyc = rng.choices(["verified", "unverified", "pending", "rejected"], weights=[80, 12, 6, 2])[0]
            customer_id = fast_id("cus")
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            email = f"customer{i:06d}{EMAIL_DOMAIN}"
            metadata = {"demo": "large", "segment": rng.choice(["retail", "smb", "enterprise"])}
            rows.append((customer_id, email, name, country, "active", kyc, metadata, at, at))
            seed.audit.add(
                action=AccountsAction.CUSTOMER_CREATED, at=at, object_type="accounts.customer", object_id=customer_id
            )
            seed.events.add(
                type=AccountsEvent.CUSTOMER_CREATED,
                at=at,
                object_type="accounts.customer",
                object_id=customer_id,
                obj={
                    "id": customer_id,
                    "object": "customer",
                    "email": email,
                    "name": name,
                    "country": country,
                    "status": "active",
                    "kyc_status": kyc,
                    "created": iso(at),
                },
            )
        note["customers"] = copy_rows(Customer, _NAMES, rows)
        seed.flush()
