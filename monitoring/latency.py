"""Latency histograms with fixed buckets, so any number of them merge exactly.

The bounds grow by 20 % from 0.5 ms to two minutes; a percentile is the upper bound of the
bucket that holds it, interpolated linearly inside the bucket, so it is within one bucket (20 %)
of the true value whatever the number of requests, processes or minutes merged.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


def _bounds() -> tuple[float, ...]:
    bounds, value = [], 0.5
    while value < 120_000:
        bounds.append(round(value, 3))
        value *= 1.2
    bounds.append(120_000.0)
    return tuple(bounds)


# Upper bounds in milliseconds; one more bucket past the last holds everything slower.
BUCKET_BOUNDS_MS = _bounds()
BUCKETS = len(BUCKET_BOUNDS_MS) + 1


def bucket_of(duration_ms: float) -> int:
    return bisect.bisect_left(BUCKET_BOUNDS_MS, duration_ms)


def empty() -> list[int]:
    return [0] * BUCKETS


def histogram_of(durations_ms: Iterable[float]) -> list[int]:
    counts = empty()
    for duration in durations_ms:
        counts[bucket_of(duration)] += 1
    return counts


def merge(histograms: Iterable[Sequence[int]]) -> list[int]:
    merged = empty()
    for histogram in histograms:
        for index, count in enumerate(histogram[:BUCKETS]):
            merged[index] += int(count)
    return merged


def percentile(histogram: Sequence[int], q: float, *, max_ms: float | None = None) -> float | None:
    """The q-quantile (0 < q <= 1) in ms, None without observations; never above max_ms if given."""
    total = sum(histogram)
    if not total:
        return None
    rank = q * total
    seen = 0
    for index, count in enumerate(histogram):
        if count and seen + count >= rank:
            low = BUCKET_BOUNDS_MS[index - 1] if index else 0.0
            high = BUCKET_BOUNDS_MS[index] if index < len(BUCKET_BOUNDS_MS) else (max_ms or BUCKET_BOUNDS_MS[-1])
            value = low + (high - low) * (rank - seen) / count
            return round(min(value, max_ms) if max_ms is not None else value, 3)
        seen += count
    return max_ms


@dataclass(frozen=True)
class LatencySummary:
    count: int
    errors: int
    client_errors: int
    total_ms: float
    max_ms: float
    histogram: list[int]

    @property
    def error_rate(self) -> float:
        return self.errors / self.count if self.count else 0.0

    @property
    def mean_ms(self) -> float | None:
        return round(self.total_ms / self.count, 3) if self.count else None

    def p(self, q: float) -> float | None:
        return percentile(self.histogram, q, max_ms=self.max_ms)
