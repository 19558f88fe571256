import datetime as dt
import statistics

import pytest
import time_machine
from django.db import transaction

from wallets import ledger, services
from wallets.models import Hold
from wallets.selectors import wallet_insights

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)


def transfer(actor, a, b, amount, when):
    with time_machine.travel(when, tick=False):
        return services.wallet_transfer(actor=actor, from_wallet_id=a.pk, to_wallet_id=b.pk, amount=amount,
                                        currency="USD")


def test_totals_change_and_z_score_against_own_history(make_wallet, actor):
    with time_machine.travel(NOW - dt.timedelta(days=70), tick=False):
        a = make_wallet("USD", balance=100_000)
        b = make_wallet("USD")
        c = make_wallet("USD")
    baseline = list(range(100, 112))
    for i, amount in enumerate(baseline):
        transfer(actor, a, b, amount, NOW - dt.timedelta(days=45 - i))
    big = transfer(actor, a, c, 1000, NOW - dt.timedelta(days=5))
    transfer(actor, a, c, 104, NOW - dt.timedelta(days=4))
    transfer(actor, b, a, 50, NOW - dt.timedelta(days=3))

    with time_machine.travel(NOW, tick=False):
        result = wallet_insights(wallet_id=a.pk)
    assert result["period_start"] == NOW - dt.timedelta(days=30)
    assert result["totals"] == {"incoming": 50, "outgoing": 1104, "net": -1054, "count": 3, "currency": "USD"}
    assert result["previous_totals"] == {"incoming": 0, "outgoing": sum(baseline), "net": -sum(baseline),
                                         "count": 12, "currency": "USD"}
    # (1104 - 1266) / 1266 = -12.796 %
    assert result["change"]["outgoing_percent"] == "-12.8"
    assert result["change"]["incoming_percent"] is None
    assert result["by_kind"] == [{"kind": "transfer", "incoming": 50, "outgoing": 1104, "count": 3,
                                  "currency": "USD"}]
    assert result["by_counterparty"] == [
        {"counterparty": c.pk, "incoming": 0, "outgoing": 1104, "count": 2, "currency": "USD"},
        {"counterparty": b.pk, "incoming": 50, "outgoing": 0, "count": 1, "currency": "USD"},
    ]
    mean, stdev = statistics.fmean(baseline), statistics.pstdev(baseline)
    assert [(u["id"], u["amount"], u["z_score"]) for u in result["unusual"]] == [
        (big.pk, 1000, round((1000 - mean) / stdev, 2))]
    info = result["anomaly_detection"]
    assert (info["enough_history"], info["baseline_count"], info["mean"]) == (True, 12, 105.5)


def test_flat_history_is_said_not_guessed(make_wallet, actor):
    with time_machine.travel(NOW - dt.timedelta(days=50), tick=False):
        a = make_wallet("USD", balance=10_000)
        b = make_wallet("USD")
    for i in range(10):
        transfer(actor, a, b, 100, NOW - dt.timedelta(days=45 - i))
    transfer(actor, a, b, 5000, NOW - dt.timedelta(days=1))
    with time_machine.travel(NOW, tick=False):
        result = wallet_insights(wallet_id=a.pk)
    assert result["unusual"] == []
    assert result["anomaly_detection"]["enough_history"] is False
    assert "no spread" in result["anomaly_detection"]["note"]


def test_holds_expire_and_release_the_money(make_wallet, actor):
    wallet = make_wallet("USD", balance=1000)
    with transaction.atomic():
        hold = ledger.hold_reserve(account=wallet.account, amount=400, actor=actor,
                                   expires_at=NOW + dt.timedelta(hours=1))
        keep = ledger.hold_reserve(account=wallet.account, amount=100, actor=actor)
    assert ledger.account_available(wallet.account) == 500
    with time_machine.travel(NOW + dt.timedelta(hours=2), tick=False):
        from wallets.errors import HoldNotPending

        with pytest.raises(HoldNotPending), transaction.atomic():
            ledger.hold_capture(hold_id=hold.pk, amount=None, destination=wallet.account, actor=actor,
                                kind="wallet_payment")
        from wallets.tasks import expire_holds

        assert expire_holds() == 1
        assert expire_holds() == 0
    assert Hold.objects.get(pk=hold.pk).status == "expired"
    assert Hold.objects.get(pk=keep.pk).status == "pending"
    assert ledger.account_available(wallet.account) == 900
    assert ledger.account_balance(wallet.account) == 1000
