"""Long work (stylization, training) as jobs run by a worker process, never in a request."""
from .kinds import queue_for_kind
from .queue import JobQueue
from .runner import create_job, execute_job

__all__ = ["JobQueue", "create_job", "execute_job", "queue_for_kind"]
