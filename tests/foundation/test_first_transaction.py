"""`core.db.join_first_transaction`: work that commits with a block's first transaction, is run again
when that transaction rolls back, and never leaks past the block."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.models import LoginThrottle
from core.db import join_first_transaction, run_in_transaction
from tests.statements import commits

pytestmark = pytest.mark.django_db(transaction=True)


class Boom(Exception):
    pass


def _work(log):
    def work():
        log.append("work")
        LoginThrottle.objects.create(username=f"work-{len(log)}")
    return work


def _row(name):
    return LoginThrottle.objects.create(username=name)


def _usernames():
    return sorted(LoginThrottle.objects.values_list("username", flat=True))


def test_the_work_commits_with_the_first_transaction_and_runs_once():
    log = []
    with CaptureQueriesContext(connection) as queries, join_first_transaction(_work(log)) as handle:
        assert LoginThrottle.objects.count() == 0  # a read outside a transaction does not need it
        assert not handle.done
        run_in_transaction(lambda: _row("first"))
        assert handle.done
        run_in_transaction(lambda: _row("second"))
    assert log == ["work"]
    assert commits(queries) == [["INSERT accounts_loginthrottle", "INSERT accounts_loginthrottle"],
                                ["INSERT accounts_loginthrottle"]]
    assert _usernames() == ["first", "second", "work-1"]


def test_the_work_runs_again_after_its_transaction_rolled_back():
    log = []

    def fail():
        _row("rolled-back")
        raise Boom()

    with join_first_transaction(_work(log)) as handle:
        with pytest.raises(Boom):
            run_in_transaction(fail)
        assert not handle.done
        run_in_transaction(lambda: _row("kept"))
        assert handle.done
    assert log == ["work", "work"]
    assert _usernames() == ["kept", "work-2"]


def test_a_savepoint_rolled_back_takes_the_work_with_it():
    log = []

    def body():
        try:
            with transaction.atomic():
                _row("dup")
                _row("dup")
        except IntegrityError:
            pass
        _row("after")

    with join_first_transaction(_work(log)) as handle:
        run_in_transaction(body)
        assert handle.done
    # The work ran in the savepoint of the first insert, was rolled back with it, and ran again.
    assert log == ["work", "work"]
    assert _usernames() == ["after", "work-2"]


def test_a_write_outside_a_transaction_has_the_work_committed_alone_before_it():
    log = []
    with CaptureQueriesContext(connection) as queries, join_first_transaction(_work(log)) as handle:
        _row("autocommit")
        assert handle.done
    assert commits(queries) == [["INSERT accounts_loginthrottle"], ["INSERT accounts_loginthrottle"]]
    assert _usernames() == ["autocommit", "work-1"]


def test_a_block_that_writes_nothing_leaves_the_work_undone_and_it_does_not_leak():
    log = []
    with join_first_transaction(_work(log)) as handle:
        LoginThrottle.objects.count()
    assert not handle.done
    run_in_transaction(lambda: _row("later"))
    assert log == []
    assert _usernames() == ["later"]


def test_an_error_of_the_work_fails_the_statement_that_needed_it():
    def work():
        raise Boom()

    with join_first_transaction(work) as handle, pytest.raises(Boom):
        run_in_transaction(lambda: _row("never"))
    assert not handle.done
    assert _usernames() == []
