"""Stopping at a caller's request: ``Cancelled`` and ``check_stop`` for every long ml run (a
style picture, a training), and ``call`` for the long calls a cancel need not wait for: a running
1024 px ``nst`` would otherwise finish first.

At 1024 px on a busy CPU one evaluation of the style loss is 5 to 15 s, and one L-BFGS-B
iteration over its 3 million pixels seconds more; neither a TensorFlow op nor scipy's optimiser
can be interrupted from Python. ``call`` runs such work in a thread and watches ``should_stop``
meanwhile (every ``POLL_SECONDS``, in the caller's thread): a cancel raises ``Cancelled`` at
once and sets the work's ``stopped`` event, which the work checks between its own steps to end
early; until then it finishes in its thread, its result dropped. The next ``call`` first waits
for it (``settle``), so two pictures never compete for the CPU and memory.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class Cancelled(Exception):
    """A stylization or training run stopped because ``should_stop()`` returned True."""


def check_stop(should_stop: Callable[[], bool] | None) -> None:
    """Raise ``Cancelled`` when the caller's ``should_stop`` hook asks for it."""
    if should_stop is not None and should_stop():
        raise Cancelled("stopped at the caller's request")


POLL_SECONDS = 0.2
_ABANDONED: list[threading.Thread] = []


def settle() -> None:
    """Wait until the work left running by earlier cancels has ended."""
    while _ABANDONED:
        _ABANDONED.pop().join()


def call(
    should_stop: Callable[[], bool] | None,
    fn: Callable,
    *args,
    stopped: threading.Event | None = None,
    on_wait: Callable[[], None] | None = None,
    **kwargs,
):
    """``fn(*args, **kwargs)``, run in a thread; ``Cancelled`` as soon as ``should_stop()`` says
    so, even while ``fn`` runs (``stopped`` is then set, and ``fn`` left to end in its thread).

    ``on_wait()`` runs in the caller's thread at each poll (report progress from there: the
    caller's thread is the one that may write to its database); what it raises ends the wait as
    a cancel does.
    """
    settle()
    if should_stop is None and on_wait is None:
        return fn(*args, **kwargs)
    outcome: dict = {}

    def target():
        try:
            outcome["value"] = fn(*args, **kwargs)
        except BaseException as exc:  # handed to the caller's thread below
            outcome["error"] = exc

    thread = threading.Thread(target=target, name="stoppable-call", daemon=True)
    thread.start()
    try:
        while thread.is_alive():
            thread.join(POLL_SECONDS)
            if on_wait is not None:
                on_wait()
            if should_stop is not None and thread.is_alive() and should_stop():
                raise Cancelled("stopped at the caller's request")
    except BaseException:
        if stopped is not None:
            stopped.set()
        _ABANDONED.append(thread)
        raise
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
