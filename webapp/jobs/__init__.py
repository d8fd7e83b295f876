"""Long work (stylization, training) as jobs run by a worker process, never in a request."""
from .queue import JobQueue, queue_for_kind
from .runner import create_job, execute_job

__all__ = ["JobQueue", "create_job", "execute_job", "queue_for_kind"]
