"""Every type of job: the queue that runs it, the function that does it, and how long it may take.

A job type is registered with its handler as a callable by the composition module
(`webapp.wiring`, at app start): `webapp.jobs` imports no domain package, and every handler is an
ordinary import there, visible to the layer check (tests/architecture/test_layers.py). The names here are the
`Job.kind` values stored in the database and shown by GET /api/admin/jobs/<id>.

Lanes: a queue's worker consumes it in two lanes, each with its own thread, so a fast job never
waits behind a slow one: targets that the type's `slow` function calls slow (for stylizations,
the style methods that optimise rather than paint in one pass: `nst`) go to the queue's slow lane
(`<queue>-slow`), everything else to its main lane.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

QUEUES = ("style", "train")


@dataclass(frozen=True)
class JobType:
    name: str  # the Job.kind value
    queue: str  # which worker queue runs it
    handler: Callable  # fn(job, ctx) -> result dict
    limit: str  # the config key of its time limit in seconds
    slow: Callable[[str], bool] | None = None  # fn(target) -> True when it runs in the slow lane
    slow_limit: str = ""  # the config key of the slow lane's time limit


_TYPES: dict[str, JobType] = {}


def register(job_type: JobType) -> Callable[[], None]:
    """Add (or replace: a second app start registers the same again) a job type; returns the
    function that removes it."""
    if job_type.queue not in QUEUES:
        raise ValueError(f"A job type's queue must be one of {QUEUES}. Received: {job_type}")
    _TYPES[job_type.name] = job_type
    return lambda: _TYPES.pop(job_type.name, None)


def get(name: str) -> JobType:
    """The registered job type `name` (LookupError when the app has not registered it)."""
    try:
        return _TYPES[name]
    except KeyError:
        raise LookupError(
            f"No job type {name!r} is registered (registered: {sorted(_TYPES)}); "
            "webapp.wiring.install() registers them at app start."
        ) from None


def names_in(queue: str) -> list[str]:
    """The job types that `queue` runs."""
    return [t.name for t in _TYPES.values() if t.queue == queue]


def slow_lane(queue: str) -> str:
    return f"{queue}-slow"


def lanes(queue: str) -> list[str]:
    """The lanes a worker of `queue` consumes: its main lane, and its slow lane if any type has one."""
    has_slow = any(t.queue == queue and t.slow for t in _TYPES.values())
    return [queue, slow_lane(queue)] if has_slow else [queue]


def all_lanes() -> tuple[str, ...]:
    return tuple(lane for queue in QUEUES for lane in lanes(queue))


def queue_for(name: str) -> str:
    """Which queue runs jobs of type `name`."""
    return get(name).queue


def lane_for(name: str, target: str | None) -> str:
    """Which lane runs a job of type `name` for `target`."""
    job_type = get(name)
    return slow_lane(job_type.queue) if _is_slow(job_type, target) else job_type.queue


def time_limit_key(name: str, target: str | None) -> str:
    """The config key of the time limit of a job of type `name` for `target`."""
    job_type = get(name)
    return job_type.slow_limit if _is_slow(job_type, target) else job_type.limit


def handler_for(name: str) -> Callable:
    """The function that runs jobs of type `name`."""
    return get(name).handler


def _is_slow(job_type: JobType, target: str | None) -> bool:
    return job_type.slow is not None and target is not None and bool(job_type.slow(target))
