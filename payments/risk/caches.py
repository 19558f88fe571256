"""What every scored payment reads and staff rarely change, kept in the cache (`core.snapshots`: versioned
in Redis, at most `SNAPSHOT_LOCAL_SECONDS` per process without it) and made stale when the rows are
saved or deleted (signals.py). Kept apart from the scorer so that connecting the signals loads no model
library."""

from core.snapshots import Snapshots

ACTIVE = Snapshots("risk.active_model")  # (id, version) of the active fraud model, () when none
THRESHOLDS = Snapshots("risk.thresholds")  # (review_at, block_at)
RULES = Snapshots("risk.rules")  # the enabled staff rules, in name order
