"""The rate limiter's window slides: a client cannot spend its limit at the end of one window and
again at the start of the next, and Retry-After says when one more request fits."""

import time

import pytest

from tests.services import REDIS_URL, require_service
from webapp.web.security import RateLimiter


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


def _next_minute() -> float:
    """The start of the next minute of real time (Redis expires keys by real time)."""
    return (int(time.time() // 60) + 1) * 60.0


@pytest.fixture(params=["sqlite", "redis"])
def limiter_and_clock(request, tmp_path):
    clock = Clock(_next_minute() - 0.5)
    if request.param == "redis":
        require_service("Redis", "127.0.0.1", 6379)
        limiter = RateLimiter(redis_url=REDIS_URL, clock=clock)
        bucket = f"test-{time.time_ns()}"  # a fresh key space on the shared Redis
    else:
        limiter = RateLimiter(path=str(tmp_path / "ratelimit.db"), clock=clock)
        bucket = "test"
    return limiter, clock, bucket


def test_a_burst_across_a_window_boundary_is_refused(limiter_and_clock):
    limiter, clock, bucket = limiter_and_clock
    start = clock.now + 0.5  # the boundary
    assert [limiter.hit("10.1.1.1", bucket, "3/minute") for _ in range(3)] == [True] * 3
    clock.now = start + 0.5  # a second later, in the next window
    # a fixed window would have allowed three more here: six guesses in one second
    assert limiter.hit("10.1.1.1", bucket, "3/minute") is False
    assert limiter.peek("10.1.1.1", bucket, "3/minute") > 3
    # another address is not affected
    assert limiter.hit("10.2.2.2", bucket, "3/minute") is True


def test_retry_after_says_when_one_more_request_fits(limiter_and_clock):
    limiter, clock, bucket = limiter_and_clock
    start = clock.now + 0.5
    clock.now = start + 10
    assert [limiter.hit("10.1.1.1", bucket, "3/minute") for _ in range(4)] == [True] * 3 + [False]
    wait = limiter.retry_after("10.1.1.1", bucket, "3/minute")
    # four hits this window: the next window must carry at most 2 of them, i.e. half way into it
    assert 50 + 30 <= wait <= 50 + 30 + 1
    clock.now += wait - 2
    assert limiter.peek("10.1.1.1", bucket, "3/minute") + 1 > 3  # not yet
    clock.now += 2
    assert limiter.hit("10.1.1.1", bucket, "3/minute") is True
