"""The job worker process: a Huey consumer per lane, recovery of jobs whose worker died, and the
worker's health beside its queue."""

from __future__ import annotations

import threading

from flask import Flask

from webapp.extensions import db
from webapp.jobs import health
from webapp.jobs.background import import_ml, in_background, with_models_lock
from webapp.jobs.kinds import lanes
from webapp.jobs.runner import clean_workdirs, recover_stale_jobs

ML_MODULES = {
    "style": ("ml.stylize", "ml.style.nst", "ml.style.fast_style"),
    "train": ("ml.train",),
}


def _recovery_loop(app: Flask, queue: str, stale: float, stop: threading.Event) -> None:
    """Every few seconds, requeue or fail jobs whose heartbeat stopped."""
    every = min(stale, app.config["JOB_RECOVERY_SECONDS"])
    while True:
        with app.app_context():
            try:
                recover_stale_jobs(queue, stale)
                clean_workdirs()
                if queue == "train":
                    from webapp.registry.schedules import run_due_schedules

                    run_due_schedules()
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


def run_worker(app: Flask, queue: str) -> None:
    """Consume `queue`'s lanes until interrupted."""
    stale = app.config["JOB_STALE_SECONDS"]
    health.report(app, queue, "starting")  # live from now: importing TensorFlow takes seconds
    stop = threading.Event()
    threading.Thread(target=_health_loop, args=(app, queue, stop), daemon=True).start()
    # TensorFlow is imported here, in the main thread, before any warm-up or job thread starts:
    # two threads importing it at once deadlock or leave its op registry broken for good.
    import_ml(*ML_MODULES.get(queue, ()))
    health.exit_if_broken(app, queue, "at start")
    health.report(app, queue, "ok")
    threading.Thread(target=_recovery_loop, args=(app, queue, stale, stop), daemon=True).start()
    main, *others = lanes(queue)
    if queue == "style" and app.config["STYLE_WARMUP"]:
        from webapp.style import builtin

        # Load the fast networks now, not on the first user's job; jobs build their models
        # under the same lock, so warm-up and a job never build models at the same time.
        in_background(app, lambda: with_models_lock(builtin.warm), "style-warmup")
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
