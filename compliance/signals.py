"""Signals of the compliance app.

`audit_chain_broken(sender, check)`: sent by the nightly chain verification when the chain is not
intact (`check` is the recorded `AuditChainCheck`); the monitoring app alerts on it.
"""

from django.dispatch import Signal

# --- Audit chain ----------------------------------------------------------------------------------
audit_chain_broken = Signal()
