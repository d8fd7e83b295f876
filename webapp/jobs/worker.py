"""The job worker process: a Huey consumer per lane, recovery of jobs whose worker died, and the
worker's health beside its queue.

What a queue's worker does besides running jobs (warming models, starting due retrains) is given
to `run_worker` as callables by whoever starts it (the `flask worker` command, from
`webapp.wiring.worker_duties`): this package imports no domain package.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from flask import Flask

from webapp.extensions import db
from webapp.jobs import health
from webapp.jobs.background import import_ml, in_background, with_models_lock
from webapp.jobs.job_types import lanes
from webapp.jobs.runner import clean_workdirs, recover_stale_jobs

ML_MODULES = {
    "style": ("ml.stylize", "ml.style.nst", "ml.style.fast_style"),
    "train": ("ml.train",),
}


@dataclass(frozen=True)
class Duties:
    """What a queue's worker does besides running jobs: `warm` once at start, in a background
    thread holding the models lock (a job builds models under the same lock); `periodic` on
    every recovery pass."""

    warm: Sequence[Callable[[], None]] = ()
    periodic: Sequence[Callable[[], object]] = ()


def _recovery_loop(
    app: Flask, queue: str, stale: float, stop: threading.Event, periodic: Sequence[Callable]
) -> None:
    """Every few seconds, requeue or fail jobs whose heartbeat stopped, then run `periodic`."""
    every = min(stale, app.config["JOB_RECOVERY_SECONDS"])
    while True:
        with app.app_context():
            try:
                recover_stale_jobs(queue, stale)
                clean_workdirs()
                for duty in periodic:
                    duty()
            except Exception:
                app.logger.exception("job recovery pass failed")
            finally:
                db.session.remove()
        if stop.wait(every):
            return


def _health_loop(app: Flask, queue: str, stop: threading.Event) -> None:
    """Beat this worker's health entry while it runs."""
    while not stop.wait(health.BEAT_SECONDS):
        try:
            health.beat(app, queue)
        except Exception as exc:  # the queue's store is down: /healthz says so already
            app.logger.warning("worker health beat failed: %s", exc)


def poll_settings(app: Flask) -> dict:
    """How the idle consumer looks for work: a short fixed interval, never a growing back-off.

    Huey's default back-off let an idle worker sleep up to its maximum between looks, which a
    one-second stylization waited for on top of its own work. On SQLite a look at an empty queue
    is one indexed read; on Redis the dequeue itself blocks until a job arrives.
    """
    interval = app.config["QUEUE_POLL_SECONDS"]
    return {"initial_delay": interval, "max_delay": interval, "backoff": 1.0}


def _lane_loop(app: Flask, lane: str, stop: threading.Event) -> None:
    """Run the jobs of a second lane, one at a time, beside the main lane's consumer."""
    huey = app.extensions["queue"].hueys[lane]
    interval = app.config["QUEUE_POLL_SECONDS"]
    app.logger.info("worker consuming the %s lane", lane)
    while not stop.is_set():
        try:
            task = huey.dequeue()
        except Exception as exc:
            app.logger.warning("could not read the %s lane: %s", lane, exc)
            stop.wait(5)
            continue
        if task is None:
            stop.wait(interval)
            continue
        try:
            huey.execute(task)
        except Exception:
            app.logger.exception("a job of the %s lane failed", lane)


def _warm(duties: Sequence[Callable[[], None]]) -> None:
    for duty in duties:
        duty()


def run_worker(app: Flask, queue: str, duties: Duties = Duties()) -> None:
    """Consume `queue`'s lanes until interrupted, doing `duties` beside."""
    stale = app.config["JOB_STALE_SECONDS"]
    health.report(app, queue, "starting")  # live from now: importing TensorFlow takes seconds
    stop = threading.Event()
    threading.Thread(target=_health_loop, args=(app, queue, stop), daemon=True).start()
    # TensorFlow is imported here, in the main thread, before any warm-up or job thread starts:
    # two threads importing it at once deadlock or leave its op registry broken for good.
    import_ml(*ML_MODULES.get(queue, ()))
    health.exit_if_broken(app, queue, "at start")
    health.report(app, queue, "ok")
    threading.Thread(
        target=_recovery_loop, args=(app, queue, stale, stop, duties.periodic), daemon=True
    ).start()
    main, *others = lanes(queue)
    if duties.warm:
        # Load models now, not on the first user's job; jobs build their models under the same
        # lock, so warm-up and a job never build models at the same time.
        in_background(app, lambda: with_models_lock(lambda: _warm(duties.warm)), f"{queue}-warmup")
    for lane in others:
        threading.Thread(
            target=_lane_loop, args=(app, lane, stop), name=f"lane-{lane}", daemon=True
        ).start()
    app.logger.info("worker consuming the %s queue", queue)
    consumer = (
        app.extensions["queue"]
        .hueys[main]
        .create_consumer(
            workers=1,
            worker_type="thread",
            periodic=False,
            check_worker_health=True,
            **poll_settings(app),
        )
    )
    try:
        consumer.run()
    finally:
        stop.set()
        health.deregister(app, queue)
