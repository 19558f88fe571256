"""Hooks higher apps connect to (layering: wallets never imports them).

`ledger_verification_failed(sender, problems: list[str], report)`: sent by the nightly
verification when the ledger breaks an invariant; monitoring turns it into an alert.

`ledger_verified(sender, report, started_at, finished_at, source)`: sent after every verification
(the nightly job and `manage.py verify_ledger`), passed or not; monitoring stores the result (the
`ledger_verification` health component reads the last one).
"""

from django.dispatch import Signal

ledger_verification_failed = Signal()
ledger_verified = Signal()
