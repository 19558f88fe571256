import pytest
from django.core.management import call_command
from django.db import transaction
from django_celery_beat.models import PeriodicTask

from core import clock
from wallets import ledger, tasks
from wallets.models import JournalEntry, LedgerAccount, Posting
from wallets.signals import ledger_verification_failed

pytestmark = pytest.mark.django_db


def run_command():
    from io import StringIO

    out = StringIO()
    try:
        call_command("verify_ledger", stdout=out)
    except SystemExit as exc:
        return exc.code, out.getvalue()
    return 0, out.getvalue()


def test_clean_ledger_passes(make_wallet, actor):
    a = make_wallet("USD", balance=900)
    with transaction.atomic():
        ledger.hold_reserve(account=a.account, amount=100, actor=actor)
    code, out = run_command()
    assert code == 0
    assert "ledger OK: 1 entries, 2 postings, 2 accounts checked" in out
    assert tasks.verify_ledger() == {"ok": True, "problems": 0, "entries": 1}


def test_each_broken_invariant_is_reported_and_exits_non_zero(make_wallet, actor):
    a = make_wallet("USD", balance=900)
    # A balance changed without a posting, pending debits with no hold, and an unbalanced entry.
    LedgerAccount.objects.filter(pk=a.account_id).update(balance=1000, pending_debits=5)
    entry = JournalEntry.objects.create(kind="bogus", actor_type="system", created=clock.now())
    Posting.objects.create(entry=entry, account_id=a.account_id, amount=7, currency="USD", balance_after=7,
                           kind="bogus", created=clock.now())
    eur = LedgerAccount.objects.create(owner="x", account_type="merchant_revenue", currency="EUR", balance=-3,
                                       created=clock.now())
    code, out = run_command()
    assert code == 1
    lines = [line for line in out.splitlines() if line]
    assert f"entry {entry.pk} does not balance in USD: sums to 7" in lines
    assert f"entry {entry.pk} has fewer than two postings" in lines
    assert any(line.startswith(f"account {a.account_id} ") and "has balance 1000 but its postings sum to 907"
               in line for line in lines)
    assert any("pending debits 5 but its pending holds sum to 0" in line for line in lines)
    assert any(line.startswith(f"account {eur.pk} ") and "may not go negative" in line for line in lines)
    assert f"account {eur.pk} (merchant_revenue:x:EUR) has balance -3 but its postings sum to 0" in lines
    assert f"account {a.account_id} (customer_wallet:{a.customer_id}:USD) has balance 1000 but its last posting " \
           "says 7" in lines
    assert lines[-1].startswith("ledger BROKEN: 7 problem(s)")
    received = []

    def receiver(sender, problems, **kwargs):
        received.append(problems)

    ledger_verification_failed.connect(receiver)
    try:
        assert tasks.verify_ledger()["ok"] is False
    finally:
        ledger_verification_failed.disconnect(receiver)
    assert len(received) == 1 and len(received[0]) == 7


def test_nightly_beat_row_comes_from_the_migration(db):
    task = PeriodicTask.objects.get(task="wallets.verify_ledger")
    assert (task.crontab.minute, task.crontab.hour, str(task.crontab.timezone)) == ("15", "2", "UTC")
    assert task.enabled
    assert PeriodicTask.objects.filter(task="wallets.expire_holds").exists()
