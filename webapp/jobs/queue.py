"""The job queue: Huey on SQLite by default, on Redis when REDIS_URL is set.

Two queues: `style` (stylization) and `train` (retraining), so a GPU box can consume only
`train` while CPU workers take `style`. The style queue has two lanes (`style` and `style-slow`,
webapp/jobs/job_types.py) that its workers consume side by side, so a fast method never waits
behind `nst`. Each queue's store also holds its workers' health (webapp/jobs/health.py).
"""

from __future__ import annotations

from flask import Flask

from webapp.jobs.job_types import all_lanes, lane_for, lanes
from webapp.jobs.runner import execute_job


class JobQueue:
    """Enqueues job ids; `worker(name)` gives the Huey consumer that runs them."""

    def __init__(self, app: Flask):
        self.app = app
        self.hueys = {name: self._make_huey(name) for name in all_lanes()}
        self._tasks = {
            name: huey.task(name="run_job")(self._run_job) for name, huey in self.hueys.items()
        }

    def _make_huey(self, name: str):
        from huey import RedisHuey, SqliteHuey

        qname = f"{self.app.config['QUEUE_PREFIX']}-{name}"
        if self.app.config.get("REDIS_URL"):
            return RedisHuey(qname, url=self.app.config["REDIS_URL"], results=False)
        from webapp.config import touch_private

        touch_private(self.app.config["QUEUE_PATH"])
        return SqliteHuey(qname, filename=self.app.config["QUEUE_PATH"], results=False, timeout=30)

    def _run_job(self, job_id: str) -> None:
        with self.app.app_context():
            execute_job(job_id)

    def enqueue(self, job_type: str, job_id: str, target: str | None = None) -> None:
        """Put `job_id` on the lane that runs jobs of `job_type` for `target`."""
        self._tasks[lane_for(job_type, target)](job_id)

    def pending(self, name: str) -> int:
        """How many jobs wait in queue `name` (all its lanes)."""
        return sum(self.hueys[lane].pending_count() for lane in lanes(name))

    def check(self) -> None:
        """Raise when the queue's storage cannot be reached (for /healthz)."""
        for huey in self.hueys.values():
            huey.pending_count()
