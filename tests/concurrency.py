"""Real threads for the concurrency tests (each with its own PostgreSQL connection)."""

import threading

from django.db import connection


def run_threads(count: int, target, *, timeout: float = 600) -> list:
    """Runs `target(i)` for i in range(count) in `count` threads released together by a barrier.
    Returns, in thread order, what each returned or the exception it raised (a crashed thread is an
    outcome the test sees, never a silent gap); None for a thread still running after `timeout`."""
    barrier = threading.Barrier(count)
    outcomes: list = [None] * count

    def body(i):
        try:
            barrier.wait()
            outcomes[i] = target(i)
        except BaseException as exc:  # noqa: BLE001 - returned to the test, which asserts on it
            outcomes[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    return outcomes


def failures(outcomes: list) -> list[BaseException]:
    return [o for o in outcomes if isinstance(o, BaseException)]
