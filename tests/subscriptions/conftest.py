import datetime as dt

import pytest
import time_machine

from subscriptions import services

UTC = dt.UTC


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _sandbox(one_sandbox):
    return one_sandbox


@pytest.fixture
def make_plan(db, actor):
    def make(amount=3000, currency="USD", interval="month", interval_count=1, trial_days=0, name=None):
        return services.plan_create(actor=actor, name=name or f"Plan {amount}", amount=amount, currency=currency,
                                    interval=interval, interval_count=interval_count, trial_days=trial_days)
    return make


@pytest.fixture
def travel():
    """travel(moment): freeze the clock there (no ticking) until the next call or the test's end."""
    state = {}

    def go(moment):
        if "tm" in state:
            state["tm"].stop()
        state["tm"] = time_machine.travel(moment, tick=False)
        state["tm"].start()
        return moment

    yield go
    if "tm" in state:
        state["tm"].stop()
