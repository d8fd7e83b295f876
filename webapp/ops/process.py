"""Leaving a server process at once, when it is told to stop.

A web or job worker that has imported TensorFlow spends seconds (on a busy machine, past
gunicorn's 20 s grace) in interpreter shutdown: TensorFlow's teardown, and joining threads that
are still inside a request or a model load. gunicorn then kills it with "Perhaps out of
memory?". Once a worker has finished what it chose to finish (gunicorn's graceful
stop waits for requests in flight; a job interrupted mid-way is retried by the next worker),
nothing is left to save: it flushes its output and exits.
"""

from __future__ import annotations

import os
import sys


def exit_now(code: int = 0) -> None:
    """Flush stdout and stderr, then end the process with `code`, skipping interpreter shutdown."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # a closed pipe must not keep the process alive
            pass
    os._exit(code)


def exit_code(exc: BaseException | None) -> int:
    """The status a process ending with `exc` (None: normally) would have had."""
    if exc is None:
        return 0
    if isinstance(exc, SystemExit):
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 1
