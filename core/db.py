"""Transaction helpers: bounded retries of deadlocks and serialization failures."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from django.db import OperationalError, connection, transaction

T = TypeVar("T")
logger = logging.getLogger("core.db")
RETRYABLE_SQLSTATES = {"40001", "40P01"}  # serialization_failure, deadlock_detected


def is_retryable(exc: BaseException) -> bool:
    cause = exc.__cause__ or exc
    sqlstate = getattr(cause, "sqlstate", None) or getattr(getattr(cause, "diag", None), "sqlstate", None)
    return sqlstate in RETRYABLE_SQLSTATES


def run_in_transaction(fn: Callable[[], T], *, attempts: int = 5) -> T:
    """The use-case boundary: one outermost transaction, retried on deadlock/serialization."""
    if connection.in_atomic_block:
        # Inside someone else's transaction: they own the retry.
        return fn()
    for attempt in range(1, attempts + 1):
        try:
            with transaction.atomic():
                return fn()
        except OperationalError as exc:
            if attempt == attempts or not is_retryable(exc):
                raise
            logger.warning("retrying transaction", extra={"attempt": attempt, "error": str(exc)[:200]})
            time.sleep(random.uniform(0.001, 0.01) * attempt)
    raise AssertionError("unreachable")


def require_transaction() -> None:
    if not connection.in_atomic_block:
        raise RuntimeError("This service must run inside a transaction opened by its use case.")
