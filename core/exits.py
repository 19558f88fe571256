"""Work a process must do as it leaves, whichever way Python leaves it.

`atexit` alone misses one way: a `multiprocessing` child started by fork (granian's workers are) ends with
`os._exit` after its target returns, and runs only multiprocessing's finalisers, those registered in the
child itself. A function given to `at_exit` runs once, from whichever of the two comes first.
"""

from __future__ import annotations

import atexit
import multiprocessing.util
from collections.abc import Callable


def at_exit(function: Callable[[], object]) -> None:
    done = False

    def once() -> None:
        nonlocal done
        if not done:
            done = True
            function()

    atexit.register(once)
    multiprocessing.util.Finalize(None, once, exitpriority=0)
