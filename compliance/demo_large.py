"""`seed_demo --scale large`: the audit chain's sealer for the bulk path. The bulk writer seals each
event as it writes it (`core.bulkseed.AuditWriter`), with the same hash as the sealer
(`compliance.chain.event_hash` over `canonical_content`), continuing the chain from its current head:
sealing millions of rows afterwards would mean updating each row once more. Events the running system
had not sealed yet stay unsealed and are sealed after these by the sealer (their seq comes later)."""

from __future__ import annotations

from typing import Any

from django.db import connection

from core.bulkseed import Sealer

from .chain import CHAIN_LOCK_KEY, canonical_content, chain_head, event_hash


def chain_sealer() -> Sealer:
    """Holds the chain lock for the session (the sealer and the archiver skip their turn meanwhile:
    two writers would fork the chain) until `release_chain`."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [CHAIN_LOCK_KEY])
    seq, digest = chain_head()
    seqs, hashes = [seq], [digest]  # the chain's head so far (closed over, changed in place)

    def seal(content: dict[str, Any]) -> tuple[int, str, str]:
        seq, prev = seqs[0] + 1, hashes[0]
        digest = event_hash(prev, canonical_content(content))
        seqs[0], hashes[0] = seq, digest
        return seq, prev, digest

    return seal


def release_chain() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s)", [CHAIN_LOCK_KEY])
