"""The ledger's own audit: the invariants every write is supposed to keep, checked from scratch."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from ..models import Hold, JournalEntry, LedgerAccount, Posting

MAX_REPORTED = 100


@dataclass
class LedgerReport:
    entries: int = 0
    postings: int = 0
    accounts: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _per_account_sum(rows):
    """For each ledger account (the outer row), the sum of `amount` over its `rows`; 0 when none."""
    return Coalesce(Subquery(
        rows.filter(account_id=OuterRef("pk")).order_by().values("account_id")
        .annotate(total=Sum("amount")).values("total")[:1]), Value(0))


def ledger_verify() -> LedgerReport:
    report = LedgerReport(entries=JournalEntry.objects.count(), postings=Posting.objects.count(),
                          accounts=LedgerAccount.objects.count())
    problems = report.problems

    for row in (Posting.objects.values("entry_id", "currency").annotate(total=Sum("amount"))
                .exclude(total=0).order_by("entry_id")[:MAX_REPORTED]):
        problems.append(f"entry {row['entry_id']} does not balance in {row['currency']}: sums to {row['total']}")
    for entry_id in (JournalEntry.objects.annotate(n=Count("postings")).filter(n__lt=2)
                     .values_list("pk", flat=True)[:MAX_REPORTED]):
        problems.append(f"entry {entry_id} has fewer than two postings")
    for row in (Posting.objects.exclude(currency=F("account__currency"))
                .values("id", "entry_id", "currency", "account__currency")[:MAX_REPORTED]):
        problems.append(f"posting {row['id']} of entry {row['entry_id']} is in {row['currency']} on an "
                        f"account in {row['account__currency']}")

    accounts = LedgerAccount.objects.annotate(posted=_per_account_sum(Posting.objects),
                                              held=_per_account_sum(Hold.objects.filter(status=Hold.Status.PENDING)))
    for a in accounts.exclude(balance=F("posted")).order_by("pk")[:MAX_REPORTED]:
        problems.append(f"account {a.pk} ({a}) has balance {a.balance} but its postings sum to {a.posted}")
    for a in accounts.exclude(pending_debits=F("held")).order_by("pk")[:MAX_REPORTED]:
        problems.append(f"account {a.pk} ({a}) has pending debits {a.pending_debits} but its pending holds "
                        f"sum to {a.held}")
    last_after = Subquery(Posting.objects.filter(account_id=OuterRef("pk")).order_by("-id")
                          .values("balance_after")[:1])
    for a in (LedgerAccount.objects.annotate(last_after=last_after).filter(last_after__isnull=False)
              .exclude(last_after=F("balance")).order_by("pk")[:MAX_REPORTED]):
        problems.append(f"account {a.pk} ({a}) has balance {a.balance} but its last posting says {a.last_after}")
    for a in (LedgerAccount.objects.filter(allow_negative=False)
              .filter(Q(balance__lt=0) | Q(balance__lt=F("pending_debits"))).order_by("pk")[:MAX_REPORTED]):
        problems.append(f"account {a.pk} ({a}) may not go negative but has balance {a.balance} "
                        f"and pending debits {a.pending_debits}")
    return report
