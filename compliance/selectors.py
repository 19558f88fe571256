"""Reads of the compliance app."""

from __future__ import annotations

from typing import Any

from core.context import Actor


# --- PCI self-assessment ---------------------------------------------------------------------------
def pci_assessment_live(*, actor: Actor) -> dict[str, Any]:
    """Runs every PCI check now (nothing is stored): `{"score", "checks", "assessed_at"}`."""
    from . import pci

    return pci.run_assessment()

