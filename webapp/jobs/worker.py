"""The job worker process: a Huey consumer plus recovery of jobs whose worker died."""

from __future__ import annotations

import threading

from flask import Flask

from webapp.extensions import db
from webapp.jobs.runner import clean_workdirs, recover_stale_jobs


def _recovery_loop(app: Flask, queue: str, stale: float, stop: threading.Event) -> None:
    """Every few seconds, requeue or fail jobs whose heartbeat stopped."""
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
        if stop.wait(min(stale, 30.0)):
            return


def poll_settings(app: Flask) -> dict:
    """How the idle consumer looks for work: a short fixed interval, never a growing back-off.

    Huey's default back-off let an idle worker sleep up to its maximum between looks, which a
    one-second stylization waited for on top of its own work. On SQLite a look at an empty queue
    is one indexed read; on Redis the dequeue itself blocks until a job arrives.
    """
    interval = app.config["QUEUE_POLL_SECONDS"]
    return {"initial_delay": interval, "max_delay": interval, "backoff": 1.0}


def run_worker(app: Flask, queue: str) -> None:
    """Consume `queue` until interrupted."""
    stale = app.config["JOB_STALE_SECONDS"]
    stop = threading.Event()
    threading.Thread(target=_recovery_loop, args=(app, queue, stale, stop), daemon=True).start()
    huey = app.extensions["queue"].hueys[queue]
    if queue == "style" and app.config["STYLE_WARMUP"]:
        from webapp.style.builtin import start_warmup

        start_warmup(app)  # load the fast networks now, not on the first user's job
    app.logger.info("worker consuming the %s queue", queue)
    consumer = huey.create_consumer(
        workers=1,
        worker_type="thread",
        periodic=False,
        check_worker_health=True,
        **poll_settings(app),
    )
    try:
        consumer.run()
    finally:
        stop.set()
