"""Every kind of job, declared in one place: the queue that runs it, the function that does it,
and how long it may take.

Handlers are named, not imported, so `webapp.jobs` depends on no domain package; the runner
imports a handler the first time a job of its kind runs. A new kind of job is one line here.

Lanes: a queue's worker consumes it in two lanes, each with its own thread, so a fast job never
waits behind a slow one: targets that the kind's `slow` function names slow (for stylizations,
the style methods that optimise rather than paint in one pass: `nst`) go to the queue's slow
lane (`<queue>-slow`), everything else to its main lane.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class JobKind:
    queue: str  # which worker queue runs it
    handler: str  # "module:function", called as fn(job, ctx) -> result dict
    limit: str  # the config key of its time limit in seconds
    slow: str = ""  # "module:function", fn(target) -> True when it runs in the slow lane
    slow_limit: str = ""  # the config key of the slow lane's time limit


QUEUES = ("style", "train")
KINDS = {
    "stylize": JobKind(
        "style",
        "webapp.style.render:run_stylization",
        "STYLE_JOB_SECONDS",
        slow="webapp.style.methods:runs_slow",
        slow_limit="NST_JOB_SECONDS",
    ),
    "retrain": JobKind("train", "webapp.registry.gate:run_retrain", "TRAIN_JOB_SECONDS"),
    # a shipped model's metrics and plots on its bundled evaluation set (its model page's evidence)
    "evidence": JobKind(
        "train", "webapp.classification.evidence:run_evidence", "TRAIN_JOB_SECONDS"
    ),
    "import": JobKind("train", "webapp.classification.importing:run_import", "IMPORT_JOB_SECONDS"),
}


def slow_lane(queue: str) -> str:
    return f"{queue}-slow"


def lanes(queue: str) -> list[str]:
    """The lanes a worker of `queue` consumes: its main lane, and its slow lane if any kind has one."""
    has_slow = any(k.queue == queue and k.slow for k in KINDS.values())
    return [queue, slow_lane(queue)] if has_slow else [queue]


LANES = tuple(lane for queue in QUEUES for lane in lanes(queue))


def queue_for_kind(kind: str) -> str:
    """Which queue runs jobs of `kind`."""
    return KINDS[kind].queue


def lane_for(kind: str, target: str | None) -> str:
    """Which lane runs a job of `kind` for `target`."""
    spec = KINDS[kind]
    return slow_lane(spec.queue) if _is_slow(spec, target) else spec.queue


def time_limit_key(kind: str, target: str | None) -> str:
    """The config key of the time limit of a job of `kind` for `target`."""
    spec = KINDS[kind]
    return spec.slow_limit if _is_slow(spec, target) else spec.limit


def handler_for(kind: str) -> Callable:
    """The function that runs jobs of `kind`."""
    return _named(KINDS[kind].handler)


def _is_slow(spec: JobKind, target: str | None) -> bool:
    return bool(spec.slow) and target is not None and bool(_named(spec.slow)(target))


def _named(ref: str) -> Callable:
    """The function a "module:function" string names (imported on first use)."""
    module, name = ref.split(":")
    return getattr(importlib.import_module(module), name)
