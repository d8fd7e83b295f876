"""What domain code raises when it refuses something: one class per meaning, no HTTP in sight.

Services, jobs and the CLI raise and catch these; `webapp.web.errors` is the one place that turns
them into HTTP statuses (`STATUS`), and the CLI prints their message.
"""

from __future__ import annotations


class DomainError(Exception):
    """A refusal with a message the person who asked can act on; `extra` is machine-readable detail."""

    def __init__(self, message: str, **extra):
        super().__init__(message)
        self.message, self.extra = message, extra


class Invalid(DomainError):
    """The input is wrong (a bad value, a missing field, an image that cannot be read)."""


class NotFound(DomainError):
    """What the input names does not exist."""


class Conflict(DomainError):
    """The request clashes with the current state (already running, nothing to roll back to, ...)."""


class Unavailable(DomainError):
    """A service the operation needs (the job queue) is down; trying again later may work."""


class TooMany(DomainError):
    """This client has too much under way; `retry_after` seconds from now it may ask again."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(
            f"{message} Try again in {int(retry_after)} s.", retry_after=int(retry_after)
        )
        self.retry_after = int(retry_after)


class NotReady(DomainError):
    """What is asked for is still being prepared (by a worker); it may be asked for again in
    `retry_after` seconds. Not a failure: HTTP answers it 202 with `Retry-After`."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = int(retry_after)
