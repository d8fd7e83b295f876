"""Every kind of job, declared in one place: the queue that runs it and the function that does it.

Handlers are named, not imported, so `webapp.jobs` depends on no domain package; the runner
imports a handler the first time a job of its kind runs. A new kind of job is one line here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class JobKind:
    queue: str  # which worker queue runs it
    handler: str  # "module:function", called as fn(job, ctx) -> result dict


QUEUES = ("style", "train")
KINDS = {
    "stylize": JobKind("style", "webapp.style.render:run_stylization"),
    "retrain": JobKind("train", "webapp.registry.gate:run_retrain"),
}


def queue_for_kind(kind: str) -> str:
    """Which queue runs jobs of `kind`."""
    return KINDS[kind].queue


def handler_for(kind: str) -> Callable:
    """The function that runs jobs of `kind`."""
    module, name = KINDS[kind].handler.split(":")
    return getattr(importlib.import_module(module), name)
