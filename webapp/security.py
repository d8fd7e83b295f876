"""Client fingerprints, per-client rate limits and security headers."""
from __future__ import annotations

import hashlib
import threading
import time
from functools import wraps

from flask import Flask, current_app, request

from .errors import ApiError

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


def client_fingerprint() -> str:
    """A salted hash of the client's address and user agent: stable per client, not reversible."""
    raw = f"{current_app.secret_key}|{request.remote_addr}|{request.user_agent.string}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def _parse(limit: str) -> tuple[int, int]:
    count, _, period = limit.partition("/")
    seconds = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}[period.strip() or "minute"]
    return int(count), seconds


class RateLimiter:
    """Fixed-window counters per (client, bucket): in Redis when configured, else in process."""

    def __init__(self, redis_url: str | None = None):
        self._local: dict[tuple[str, str, int], int] = {}
        self._lock = threading.Lock()
        self._redis = None
        if redis_url:
            import redis

            self._redis = redis.Redis.from_url(redis_url, socket_timeout=2)

    def hit(self, client: str, bucket: str, limit: str) -> bool:
        """Count one request; False when the client is over `limit` (e.g. '60/minute')."""
        count, seconds = _parse(limit)
        window = int(time.time() // seconds)
        if self._redis is not None:
            return self._hit_redis(f"rl:{bucket}:{client}:{window}", count, seconds)
        with self._lock:
            key = (client, bucket, window)
            self._local = {k: v for k, v in self._local.items() if k[2] >= window - 1}
            self._local[key] = self._local.get(key, 0) + 1
            return self._local[key] <= count

    def _hit_redis(self, key: str, count: int, seconds: int) -> bool:
        try:
            pipe = self._redis.pipeline()
            pipe.incr(key)
            pipe.expire(key, seconds * 2)
            return pipe.execute()[0] <= count
        except Exception:  # a rate limiter outage must not take the product down
            return True


def rate_limited(bucket: str, config_key: str):
    """Decorator: answer 429 when this client exceeds the configured limit for `bucket`."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            limiter: RateLimiter = current_app.extensions["rate_limiter"]
            if not limiter.hit(client_fingerprint(), bucket, current_app.config[config_key]):
                raise ApiError("Too many requests from you; wait a minute and try again.", 429)
            return view(*args, **kwargs)

        return wrapper

    return decorate


def register_security(app: Flask) -> None:
    """Install the rate limiter and the headers every response carries."""
    app.extensions["rate_limiter"] = RateLimiter(app.config.get("REDIS_URL"))

    @app.after_request
    def _headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response
