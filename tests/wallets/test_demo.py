import random
from io import StringIO

import pytest

from accounts import demo as accounts_demo
from wallets import demo
from wallets.models import ExchangeRate, JournalEntry, Posting, Wallet
from wallets.selectors.verify import ledger_verify

pytestmark = pytest.mark.django_db


def test_seed_is_idempotent_and_leaves_a_clean_ledger():
    accounts_demo.seed(rng=random.Random("1:accounts"), stdout=StringIO())
    out = StringIO()
    demo.seed(rng=random.Random("1:wallets"), stdout=out)
    assert "refused" not in out.getvalue().replace("0 refused", "")
    counts = (Wallet.objects.count(), JournalEntry.objects.count(), Posting.objects.count(),
              ExchangeRate.objects.count())
    assert len(set(Wallet.objects.values_list("currency", flat=True))) >= 4
    assert JournalEntry.objects.filter(kind="transfer").count() == demo.TRANSFERS
    assert JournalEntry.objects.filter(kind="conversion").count() == demo.CONVERSIONS
    assert ExchangeRate.objects.count() == 10
    again = StringIO()
    demo.seed(rng=random.Random("1:wallets"), stdout=again)
    assert (Wallet.objects.count(), JournalEntry.objects.count(), Posting.objects.count(),
            ExchangeRate.objects.count()) == counts
    assert "0 wallets opened, 0 rates, 0 movements added, 0 refused" in again.getvalue()
    assert ledger_verify().problems == []
