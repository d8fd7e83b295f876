"""Job workers' health, kept beside their queue (Huey's key-value store: SQLite or Redis), so
`/healthz` on any web server can tell when the workers of a queue cannot run jobs.

A worker registers when it starts, beats every 2 s, says `broken` (with the reason) when it
finds it cannot run jobs (TensorFlow unusable), and removes its entry when it stops. A worker is
live while its beats are fresh and, on this machine, while its process exists: a killed worker
shows at once, not after the beats go stale. A queue is unhealthy when its live workers are
broken, when a worker it had is gone and none replaced it, or when jobs wait in it and no
worker is live (`NO_WORKERS`, or every worker dead): they would wait for ever.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import time

from flask import Flask, current_app

BEAT_SECONDS = 2.0
STALE_SECONDS = 10.0  # a worker not heard from this long has stopped without saying so
FORGET_SECONDS = 3600.0  # entries of dead workers are forgotten after this long
PREFIX = "worker:"
BROKEN_EXIT = 3  # the exit status of a worker that found it cannot run jobs


def _store(app: Flask, queue: str):
    return app.extensions["queue"].hueys[queue]


def worker_key() -> str:
    return f"{PREFIX}{socket.gethostname()}:{os.getpid()}"


def report(app: Flask, queue: str, state: str, reason: str = "") -> None:
    """Write this worker's entry: state `ok` or `broken` (with the reason)."""
    entry = {
        "beat": time.time(),
        "state": state,
        "reason": reason,
        "host": socket.gethostname(),
        "pid": os.getpid(),
    }
    _store(app, queue).put(worker_key(), entry)


def beat(app: Flask, queue: str) -> None:
    """Refresh this worker's entry, keeping its state."""
    store = _store(app, queue)
    entry = store.get(worker_key(), peek=True) or {"state": "ok", "reason": ""}
    report(app, queue, entry["state"], entry["reason"])


def deregister(app: Flask, queue: str) -> None:
    """Remove this worker's entry (it stops on purpose)."""
    _store(app, queue).delete(worker_key())


def _entries(queue: str) -> dict[str, dict]:
    store = _store(current_app, queue)
    items = store.storage.result_items()
    return {
        key: store.serializer.deserialize(raw)
        for key, raw in items.items()
        if key.startswith(PREFIX)
    }


def _alive(entry: dict, now: float) -> bool:
    """Fresh beats, and on this machine a process that still exists."""
    if now - entry["beat"] > STALE_SECONDS:
        return False
    if entry.get("host") != socket.gethostname() or not entry.get("pid"):
        return True
    pid = int(entry["pid"])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: it exists
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """A process that has exited and waits for its parent to notice (Linux; False elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except (OSError, IndexError):
        return False


def problem(queue: str) -> str | None:
    """Why `queue`'s jobs cannot run, or None when they can (or none waits and no worker died)."""
    now = time.time()
    store = _store(current_app, queue)
    entries = _entries(queue)
    for key in [k for k, e in entries.items() if now - e["beat"] > FORGET_SECONDS]:
        store.delete(key)
        del entries[key]
    live = {k: e for k, e in entries.items() if _alive(e, now)}
    broken = [e for e in live.values() if e["state"] == "broken"]
    if broken:
        return f"{queue} worker: cannot run jobs: {broken[0]['reason']}"
    if live:
        for key in set(entries) - set(live):  # a restarted worker replaced a dead one
            store.delete(key)
        return None
    if entries:
        last = max(e["beat"] for e in entries.values())
        return f"{queue} worker: not running (last seen {now - last:.0f} s ago)"
    waiting = current_app.extensions["queue"].pending(queue)
    if waiting:
        return f"{queue} worker: none running, {waiting} job(s) waiting"
    return None


def self_check() -> None:
    """Raise when TensorFlow cannot run in this process (a broken import leaves it unusable)."""
    import numpy as np
    import tensorflow as tf

    total = tf.data.Dataset.range(4).reduce(np.int64(0), lambda a, b: a + b)
    if int(total) != 6:
        raise RuntimeError("TensorFlow computed a wrong sum")


def exit_if_broken(app: Flask, queue: str, when: str) -> None:
    """When TensorFlow no longer works in this process, say why in the worker's health entry
    (/healthz shows it) and exit, so that the supervisor starts a fresh worker."""
    if "tensorflow" not in sys.modules:
        return  # nothing of TensorFlow's has run here: it cannot be what failed
    try:
        self_check()
    except Exception as exc:
        reason = f"TensorFlow is unusable in this worker ({when}): {str(exc)[:200]}"
        app.logger.error("%s; exiting so that a fresh worker replaces it", reason)
        try:
            report(app, queue, "broken", reason)
        finally:
            logging.shutdown()
            os._exit(BROKEN_EXIT)
