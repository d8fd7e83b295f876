"""Long work (stylization, training) as jobs run by a worker process, never in a request."""

from webapp.jobs.job_types import queue_for
from webapp.jobs.queue import JobQueue
from webapp.jobs.runner import create_job, execute_job

__all__ = ["JobQueue", "create_job", "execute_job", "queue_for"]
