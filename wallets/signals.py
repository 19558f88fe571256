"""Hooks higher apps connect to (layering: wallets never imports them).

`ledger_verification_failed(sender, problems: list[str], report)`: sent by the nightly
verification when the ledger breaks an invariant; monitoring turns it into an alert.
"""

from django.dispatch import Signal

ledger_verification_failed = Signal()
